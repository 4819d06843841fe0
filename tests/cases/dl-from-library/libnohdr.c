/* Declares the dl functions itself instead of including dlfcn.h (imports them from `env`). */
void *dlopen(const char *name, int mode);
void *dlsym(void *handle, const char *symbol);
int nohdr_probe(void)
{
    void *h = dlopen("libplugin.so", 2 /* RTLD_NOW */);
    const char *(*name)(void) = (const char *(*)(void))dlsym(h, "plugin_name");
    return h && name && name()[0] == 'p' ? 1 : 0;
}
