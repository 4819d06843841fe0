// The host's plugin interface, shared by main.cpp and every plugin (greet.cpp, shout.cpp).
//
// What it exercises across library boundaries, and where each definition lives:
// - Plugin: abstract interface; its key function (the destructor) is in main.cpp, so its vtable
//   and type info are main's and every plugin refers to them.
// - Settings: a class of main's (key function in main.cpp) that plugins dynamic_cast to.
// - Describable: all inline, no key function: every library that uses it emits its vtable and
//   type info as weak definitions; one definition must win (libc++ compares type_info by address).
// - Registry: main's; plugins register their factories from static constructors.
// - serial_base (an inline variable) and Journal<T>::lines (a template static), both with
//   dynamic initializers and guards: defined weakly in every library, initialised once.
#pragma once
#include <cstdio>
#include <map>
#include <string>
#include <vector>

// A static object of each library prints when it is constructed and destroyed.
struct Tracer {
  std::string who;
  explicit Tracer(const char *w) : who(w) { std::printf("%s: static constructor\n", who.c_str()); }
  ~Tracer() { std::printf("%s: static destructor\n", who.c_str()); }
};

struct Describable {
  virtual ~Describable() {}
  virtual std::string describe() const { return "(nothing to say)"; }
};

class Plugin {
 public:
  virtual ~Plugin();
  virtual std::string name() const = 0;
  virtual std::vector<std::string> transform(const std::vector<std::string> &words) const = 0;
  virtual void tally(std::map<std::string, int> &counts) const = 0;
  // Casts `d` (an object of main's) back to main's Settings with dynamic_cast.
  virtual std::string configure(const Describable &d) = 0;
  // Plugin objects alive (main's data, changed by constructors in the plugins).
  static int live;

 protected:
  Plugin() { ++live; }
};

// Main's; a plugin receives one as a Describable and casts it back.
class Settings : public Describable {
 public:
  explicit Settings(std::map<std::string, std::string> values) : values_(std::move(values)) {}
  ~Settings() override;
  std::string describe() const override;
  std::string get(const std::string &key) const;

 private:
  std::map<std::string, std::string> values_;
};

using Factory = Plugin *(*)(const std::string &arg);

class Registry {
 public:
  static Registry &instance();
  void add(const std::string &name, Factory f);
  void remove(const std::string &name);
  std::vector<std::string> names() const;
  Factory find(const std::string &name) const;

 private:
  std::map<std::string, Factory> factories_;
};

// A plugin's static registration: added at dlopen, removed at dlclose.
struct AutoRegister {
  std::string name;
  AutoRegister(const char *n, Factory f) : name(n) { Registry::instance().add(name, f); }
  ~AutoRegister() { Registry::instance().remove(name); }
};

// Main's initializers of the two below; each counts its calls (Linux: one each).
int first_serial();
std::vector<std::string> journal_start();

// Initialised once (by main, at start-up): the plugins' copies and guards are not the ones used.
inline int serial_base = first_serial();

template <class T>
struct Journal {
  static std::vector<std::string> lines;
  static void add(const std::string &line) { lines.push_back(line); }
};
template <class T>
std::vector<std::string> Journal<T>::lines = journal_start();

// The words joined with spaces.
inline std::string join(const std::vector<std::string> &words) {
  std::string out;
  for (const auto &w : words) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}
