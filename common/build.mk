# common/: the error object, logging, JSON and fd helpers every component links.
COMMON_SRCS := common/error.c common/cleanup.c common/io.c common/log.c common/json.c
$(eval $(call add_lib,common,$(COMMON_SRCS)))

$(eval $(call add_unit_test,test_common,tests/unit/test_common.c,common,$(LIBS_JSON)))
