#include <dlfcn.h>
int main(void){ return dlopen("libtop.so", RTLD_NOW) == 0; }
