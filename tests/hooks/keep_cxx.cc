// keep_cxx.cc - a C++ program whose functions have qualified names
// ("ns::Grid::move"): SPANPROF_TRACE_ALL=Grid::* matches none of them, and
// the exit report says what would (tests/e2e/test_keep.py).
#include <cstdio>

namespace ns {
struct Grid {
	int x = 0;
	__attribute__((noinline)) void move(int d) { x += d; }
	__attribute__((noinline)) int at() const { return x; }
};
} // namespace ns

int main()
{
	ns::Grid g;
	for (int i = 0; i < 3; i++)
		g.move(i);
	std::printf("%d\n", g.at());
	return 0;
}
