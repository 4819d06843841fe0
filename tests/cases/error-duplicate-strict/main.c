#include <dlfcn.h>
int main(void){ return dlopen("libuser.so", RTLD_NOW) == 0; }
