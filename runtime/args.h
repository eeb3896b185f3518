/* args.h - what args_index.c (DWARF -> what to read) hands to args_eval.c
 * (reading it from a call's frame) for the functions of SPANPROF_ARGS. */
#ifndef SP_ARGS_H
#define SP_ARGS_H

#include "stack.h" /* first: it defines _GNU_SOURCE */

#define MAX_PARAMS 16
#define MAX_OPS 8
#define STR_MAX SP_STR_MAX_LIMIT /* the buffer; SPANPROF_STR_MAX bytes are read */

enum arg_class { A_SINT = 1, A_UINT, A_BOOL, A_FLOAT, A_PTR, A_STR, A_OTHER };

struct arg_op {
	uint8_t atom;
	uint64_t op1, op2;
};

struct arg_param {
	const char *name;
	uint8_t cls, size, nops;
	struct arg_op ops[MAX_OPS];
};

/* What to read for one function, valid at one pc (the out-of-line copy's
 * enter hook call; calls from an inlined copy are not captured). */
struct sp__argspec {
	uintptr_t pc_off;       /* file offset of the return address of the enter hook */
	uint8_t nparams, nfb;
	struct arg_op fb[MAX_OPS]; /* the frame base (DW_AT_frame_base) */
	struct arg_param p[MAX_PARAMS];
};

/* The argspec of the function at file offset fn_off of m, valid at pc_off
 * (args_index.c); NULL without DWARF for it. Called once per function,
 * with sp__mod_lock held. Memory from the arena. */
SP_HIDDEN struct sp__argspec *sp__args_resolve(struct sp__module *m, uintptr_t fn_off, uintptr_t pc_off);

#endif
