/* hooks.h - shared by the instrumented test programs. */
#ifndef SP_TEST_HOOKS_H
#define SP_TEST_HOOKS_H
#define NOINLINE __attribute__((noinline))
int grid_cell(int x);
int grid_move(int x);
int grid_secret(int x);
int other_work(int x);
int grid_prefixed_elsewhere(int x);
int other_entry(int x);
#endif
