// libshout.so: a plugin whose class has its key function here, so its vtable and type info
// (_ZTI7Shouter) are this library's; main finds its factory in the registry.
#include <cctype>
#include <typeinfo>

#include "plugin.h"

static Tracer tracer("libshout");

class Shouter : public Plugin {
 public:
  explicit Shouter(std::string mark);
  ~Shouter() override;
  std::string name() const override { return "shout"; }
  std::vector<std::string> transform(const std::vector<std::string> &words) const override {
    std::vector<std::string> out;
    for (auto w : words) {
      for (auto &c : w) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out.push_back(w + mark_);
    }
    return out;
  }
  void tally(std::map<std::string, int> &counts) const override {
    counts[name()] += 1;
    counts["mark " + mark_] += 1;
  }
  std::string configure(const Describable &d) override {
    const auto *s = dynamic_cast<const Settings *>(&d);
    return s ? "size " + s->get("size") + mark_ : "ignored " + d.describe();
  }

 private:
  std::string mark_;
};

Shouter::Shouter(std::string mark) : mark_(std::move(mark)) {
  Journal<Plugin>::add("Shouter(" + mark_ + ") serial " + std::to_string(serial_base + live));
}
Shouter::~Shouter() { std::printf("libshout: ~Shouter(%s)\n", mark_.c_str()); }

static Plugin *make(const std::string &arg) { return new Shouter(arg); }

// Whether `p` is a Shouter: dynamic_cast here, on objects main got from either plugin.
extern "C" bool shout_owns(const Plugin *p) { return dynamic_cast<const Shouter *>(p) != nullptr; }

static AutoRegister registration("shout", make);
