# initrd/: /init (PID 1 of the UVM) and the builder of build/vmlinux + build/initrd.img.
INIT_LIB_SRCS := initrd/init_args.c initrd/init_log.c initrd/init_modules.c initrd/init_mounts.c \
	initrd/init_system.c
$(eval $(call add_lib,initcore,$(INIT_LIB_SRCS)))
$(eval $(call add_prog,init,initrd/init.c,initcore vsock common,$(STATIC)))

# initrd-modlist: orders the initrd's modules by modules.dep (a build tool, not in the initrd).
$(eval $(call add_lib,modlist,initrd/modlist.c))
$(eval $(call add_prog,initrd-modlist,initrd/modlist_main.c,modlist common))

$(eval $(call add_unit_test,test_init_args,tests/unit/test_init_args.c,initcore vsock common))
$(eval $(call add_unit_test,test_init_modlist,tests/unit/test_init_modlist.c,modlist common))
