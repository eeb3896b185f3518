// cxxgrid.cc - a small C++17 program for spanprof: namespaces, classes with
// a virtual method, a template, lambdas, an exception caught two frames up,
// and std::sort with a comparator.
//
//   SPANPROF_TRACE_CALLS=main SPANPROF_OUTPUT=grid.spd ./cxxgrid
//   spanprof show grid.spd
#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#define NOINLINE __attribute__((noinline))

namespace app {

enum class Mode { Plain = 1, Weighted = 2 };

class Grid {
public:
	NOINLINE explicit Grid(int n) : n_(n), cells_((size_t)n * n)
	{
		for (int i = 0; i < n * n; i++)
			cells_[(size_t)i] = (i * 7) % 11;
	}
	NOINLINE virtual ~Grid() {}
	NOINLINE virtual long score(int row) const
	{
		long s = 0;
		for (int c = 0; c < n_; c++)
			s += cells_[(size_t)(row * n_ + c)];
		return s;
	}
	NOINLINE int cell(int r, int c) const
	{
		if (r < 0 || r >= n_ || c < 0 || c >= n_)
			throw std::out_of_range("cell " + std::to_string(r) + "," + std::to_string(c));
		return cells_[(size_t)(r * n_ + c)];
	}
	NOINLINE int size() const { return n_; }

protected:
	int n_;
	std::vector<int> cells_;
};

class WeightedGrid : public Grid {
public:
	NOINLINE WeightedGrid(int n, int w) : Grid(n), w_(w) {}
	NOINLINE long score(int row) const override { return Grid::score(row) * w_; }

private:
	int w_;
};

template <typename T> NOINLINE T total(const std::vector<T> &v)
{
	T t{};
	for (const T &x : v)
		t += x;
	return t;
}

NOINLINE std::vector<long> rank_rows(const Grid &g)
{
	std::vector<long> scores;
	for (int r = 0; r < g.size(); r++)
		scores.push_back(g.score(r));
	std::sort(scores.begin(), scores.end(), [](long a, long b) { return a > b; });
	return scores;
}

NOINLINE int probe(const Grid &g, int r)
{
	return g.cell(r, r); // throws past this frame for a bad row
}

NOINLINE int safe_probe(const Grid &g, int r)
{
	try {
		return probe(g, r);
	} catch (const std::out_of_range &) {
		return -1;
	}
}

NOINLINE long run(Mode m)
{
	Grid plain(6);
	WeightedGrid weighted(6, 3);
	const Grid &g = m == Mode::Weighted ? static_cast<const Grid &>(weighted) : plain;
	std::vector<long> ranked = rank_rows(g);
	long sum = total(ranked);
	auto bonus = [&](int r) { return safe_probe(g, r); };
	sum += bonus(2) + bonus(99);
	return sum;
}

} // namespace app

int main()
{
	long a = app::run(app::Mode::Plain);
	long b = app::run(app::Mode::Weighted);
	std::printf("plain %ld, weighted %ld\n", a, b);
	return 0;
}
