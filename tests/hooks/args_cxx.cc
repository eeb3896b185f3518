// args_cxx.cc - C++ arguments for test_cxx.py: std::string by reference and
// by value, std::string_view, a struct by value, `this`, a scoped enum.
// Run with SPANPROF_TRACE_CALLS=main SPANPROF_ARGS='Shop::*'.
#include <cstdio>
#include <string>
#include <string_view>

#define NOINLINE __attribute__((noinline))

namespace shop {
enum class Kind { Book = 3, Pen = 5 };
struct Price {
	int euros, cents;
};
}

struct Shop {
	NOINLINE long sell(const std::string &item, std::string name, std::string_view note, shop::Price p,
			   shop::Kind k)
	{
		total += (long)item.size() + (long)name.size() + (long)note.size() + p.euros * 100 + p.cents + (int)k;
		return total;
	}
	long total = 0;
};

int main()
{
	Shop s;
	std::string item = "a rather long item name that does not fit in SSO";
	long r = s.sell(item, "ink", std::string_view("gift wrap"), shop::Price{ 12, 50 }, shop::Kind::Pen);
	std::printf("%ld shop=%p\n", r, (void *)&s);
	return 0;
}
