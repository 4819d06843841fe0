// libgreet.so: a plugin that is also Describable (an all-inline interface whose type info every
// library emits); main gets its factory with dlsym.
#include <typeinfo>

#include "plugin.h"

static Tracer tracer("libgreet");

class Greeter : public Plugin, public Describable {
 public:
  explicit Greeter(std::string greeting) : greeting_(std::move(greeting)) {
    Journal<Plugin>::add("Greeter(" + greeting_ + ") serial " + std::to_string(serial_base + live));
  }
  ~Greeter() override { std::printf("libgreet: ~Greeter(%s)\n", greeting_.c_str()); }
  std::string name() const override { return "greet"; }
  std::string describe() const override { return "a Greeter saying " + greeting_; }
  std::vector<std::string> transform(const std::vector<std::string> &words) const override {
    std::vector<std::string> out;
    for (const auto &w : words) out.push_back(greeting_ + "," + w);
    return out;
  }
  void tally(std::map<std::string, int> &counts) const override {
    counts[name()] += static_cast<int>(greeting_.size());
    counts["main"] += 10;
  }
  std::string configure(const Describable &d) override {
    const auto *s = dynamic_cast<const Settings *>(&d);
    if (!s) return std::string("not Settings but ") + typeid(d).name();
    return s->describe() + ", colour " + s->get("colour");
  }

 private:
  std::string greeting_;
};

extern "C" Plugin *make_plugin(const std::string &arg) { return new Greeter(arg); }

static AutoRegister registration("greet", make_plugin);
