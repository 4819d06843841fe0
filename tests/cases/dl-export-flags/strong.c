/* A strong definition of `shared_name`, which libflags.so defines weakly. libflags.so is opened
 * RTLD_GLOBAL first, so libcaller.so's reference binds to libflags.so's weak definition: glibc's
 * dynamic lookup takes the first definition in scope and ignores weakness. */
int shared_name(void) { return 20; }
