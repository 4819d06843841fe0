/* dlfcn.h for qjs-dl.c built into libqjs.so: wasm-dl does not yet let a library call the dl*
 * functions itself (compose refuses its `wasm-dl.dlopen` imports), so libqjs.so calls these wrappers,
 * which shared-main.c defines and exports. */
#ifndef QJS_DL_LIB_DLFCN_H
#define QJS_DL_LIB_DLFCN_H
#define RTLD_LAZY 0x00001
#define RTLD_NOW 0x00002
#define RTLD_GLOBAL 0x00100
#define RTLD_LOCAL 0
void *main_dlopen(const char *filename, int flags);
void *main_dlsym(void *handle, const char *symbol);
int main_dlclose(void *handle);
char *main_dlerror(void);
#define dlopen main_dlopen
#define dlsym main_dlsym
#define dlclose main_dlclose
#define dlerror main_dlerror
#endif
