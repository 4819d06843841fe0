// A C++ plugin host: opens libgreet.so and libshout.so with dlopen, makes plugin objects with the
// factories it gets from dlsym and from the registry the plugins fill in their static
// constructors, and uses them through virtual calls, dynamic_cast and typeid across the library
// boundary. The same source builds natively (g++ -rdynamic, -ldl) and for wasm-dl.
#include <dlfcn.h>

#include <typeinfo>

#include "plugin.h"

static Tracer tracer("main");

static int serial_inits = 0;
static int journal_inits = 0;

int first_serial() {
  ++serial_inits;
  return 1000;
}

std::vector<std::string> journal_start() {
  ++journal_inits;
  return {"journal opened"};
}

int Plugin::live = 0;
Plugin::~Plugin() { --live; }

Settings::~Settings() {}
std::string Settings::describe() const { return "Settings with " + std::to_string(values_.size()) + " values"; }
std::string Settings::get(const std::string &key) const {
  auto it = values_.find(key);
  return it == values_.end() ? "(unset)" : it->second;
}

Registry &Registry::instance() {
  static Registry registry;
  return registry;
}
void Registry::add(const std::string &name, Factory f) {
  std::printf("registry: add %s\n", name.c_str());
  factories_[name] = f;
}
void Registry::remove(const std::string &name) {
  std::printf("registry: remove %s\n", name.c_str());
  factories_.erase(name);
}
std::vector<std::string> Registry::names() const {
  std::vector<std::string> out;
  for (const auto &kv : factories_) out.push_back(kv.first);
  return out;
}
Factory Registry::find(const std::string &name) const {
  auto it = factories_.find(name);
  return it == factories_.end() ? nullptr : it->second;
}

static void *load(const char *name) {
  void *h = dlopen(name, RTLD_NOW);
  std::printf("main: dlopen(%s) %s\n", name, h ? "ok" : dlerror());
  return h;
}

static void show(Plugin *p, const Settings &settings, std::map<std::string, int> &counts) {
  std::printf("main: plugin %s, typeid %s, is Plugin itself: %s\n", p->name().c_str(),
              typeid(*p).name(), typeid(*p) == typeid(Plugin) ? "yes" : "no");
  if (auto *d = dynamic_cast<Describable *>(p))
    std::printf("main:   dynamic_cast<Describable *>: %s\n", d->describe().c_str());
  else
    std::printf("main:   dynamic_cast<Describable *>: null\n");
  std::printf("main:   transform: %s\n", join(p->transform({"alpha", "beta", "gamma"})).c_str());
  std::printf("main:   configure(settings): %s\n", p->configure(settings).c_str());
  Describable plain;
  std::printf("main:   configure(plain): %s\n", p->configure(plain).c_str());
  p->tally(counts);
}

int main() {
  std::printf("main: serial_base = %d, registry holds %zu\n", serial_base, Registry::instance().names().size());
  void *greet = load("libgreet.so");
  void *shout = load("libshout.so");
  if (!greet || !shout) return 1;
  std::printf("main: registry: %s\n", join(Registry::instance().names()).c_str());

  // One factory from dlsym, one from the registry.
  auto make_greeter = reinterpret_cast<Factory>(dlsym(greet, "make_plugin"));
  Factory make_shouter = Registry::instance().find("shout");
  Plugin *g = make_greeter("Hello");
  Plugin *s = make_shouter("!!");
  Plugin *s2 = make_shouter("?");
  std::printf("main: live plugins %d\n", Plugin::live);

  Settings settings({{"colour", "blue"}, {"size", "large"}});
  std::map<std::string, int> counts{{"main", 1}};
  show(g, settings, counts);
  show(s, settings, counts);
  for (const auto &kv : counts) std::printf("main: count %s = %d\n", kv.first.c_str(), kv.second);

  // Type info defined in a plugin (Shouter's key function is in shout.cpp).
  auto *shouter_ti = static_cast<const std::type_info *>(dlsym(shout, "_ZTI7Shouter"));
  std::printf("main: typeid(*s) == dlsym(libshout, _ZTI7Shouter): %s\n",
              shouter_ti && typeid(*s) == *shouter_ti ? "yes" : "no");
  std::printf("main: typeid(*s) == typeid(*s2): %s, typeid(*g) == typeid(*s): %s\n",
              typeid(*s) == typeid(*s2) ? "yes" : "no", typeid(*g) == typeid(*s) ? "yes" : "no");
  auto owns = reinterpret_cast<bool (*)(const Plugin *)>(dlsym(shout, "shout_owns"));
  std::printf("main: shout_owns(g) = %d, shout_owns(s) = %d\n", owns(g), owns(s));

  // Objects made in the plugins, deleted here.
  delete g;
  delete s;
  delete s2;
  std::printf("main: live plugins %d\n", Plugin::live);

  Journal<Plugin>::add("main done");
  std::printf("main: journal: %s\n", join(Journal<Plugin>::lines).c_str());
  std::printf("main: serial_base initialised %d time(s), Journal<Plugin>::lines %d time(s)\n",
              serial_inits, journal_inits);

  std::printf("main: dlclose(libgreet) = %d\n", dlclose(greet));
  std::printf("main: registry: %s\n", join(Registry::instance().names()).c_str());
  std::printf("main: returns (libshout stays open)\n");
  return 0;
}
