/* args.h - what args_index.c and args_callsite.c (DWARF -> what to read)
 * hand to args_eval.c (reading it from a call's frame) for the functions
 * of SPANPROF_ARGS, and what the first two share. */
#ifndef SP_ARGS_H
#define SP_ARGS_H

#include "stack.h" /* first: it defines _GNU_SOURCE */

#include <libdwarf.h>

#define MAX_PARAMS 16
#define MAX_OPS 8
#define STR_MAX SP_STR_MAX_LIMIT /* the buffer; SPANPROF_STR_MAX bytes are read */

enum arg_class { A_SINT = 1, A_UINT, A_BOOL, A_FLOAT, A_PTR, A_STR, A_OTHER,
		 A_STDSTR,  /* std::string (libstdc++): pointer, then length */
		 A_STRVIEW, /* std::string_view (libstdc++): length, then pointer */
		 A_STRUCT,  /* a struct or class by value: its first scalar fields */
};

#define MAX_FIELDS 4
struct arg_field {
	const char *name;
	uint32_t off;
	uint8_t cls, size;
};

struct arg_op {
	uint8_t atom;
	uint64_t op1, op2;
};

struct arg_enum {
	int64_t v;
	const char *name;
};

struct arg_param {
	const char *name;
	uint8_t cls, size, nops;
	bool inl_missing; /* an inlined call's DWARF has no entry for it */
	bool deref;       /* a C++ reference: the location holds the address */
	uint8_t nfields;  /* A_STRUCT */
	bool more_fields; /* ... and it has more than those */
	const struct arg_field *fields;
	struct arg_op ops[MAX_OPS];
	const struct arg_enum *enums; /* an enum's enumerators, by name */
	uint16_t nenums;
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

/* For a call of that function that the compiler inlined into the function
 * containing pc_off (the enter hook's return address there): the
 * parameters of `base` (its out-of-line argspec), located through the
 * caller's DW_TAG_inlined_subroutine for it; a parameter that instance
 * has no entry for is marked inl_missing. NULL if the caller has no
 * inline information for it (args_callsite.c). With sp__mod_lock held. */
SP_HIDDEN struct sp__argspec *sp__args_resolve_inlined(struct sp__module *m, uintptr_t fn_off, uintptr_t pc_off,
						       const struct sp__argspec *base);

/* DW_OP_entry_value(DW_OP_regN) (location_at keeps N in op1): the value
 * the caller passed in that register, from its DW_TAG_call_site returning
 * to ret_off (DW_AT_call_value, to evaluate in the caller's frame, whose
 * frame base goes to fb); 0 ops if it has none (args_callsite.c). With
 * sp__mod_lock held. */
SP_HIDDEN uint8_t sp__args_call_value(struct sp__module *m, uintptr_t ret_off, unsigned regno, struct arg_op *ops,
				      struct arg_op *fb, uint8_t *nfb);

/* Between args_index.c and args_callsite.c: per module, entry offset ->
 * DIE offset of every subprogram, sorted by entry; the libdwarf handle
 * stays open. */
struct fn_die {
	uintptr_t lo, hi;
	Dwarf_Off die;
	int version;
};

struct dwarf_index {
	Dwarf_Debug dbg;
	struct fn_die *fns;
	size_t n;
};

/* m's index, built on first use; NULL without DWARF. With sp__mod_lock held. */
SP_HIDDEN struct dwarf_index *sp__args_module_index(struct sp__module *m);

/* An attribute of `die`, or of the DIE it is an instance of: the DIE to
 * read `at` from: die itself, a new one the caller deallocates, or NULL. */
SP_HIDDEN Dwarf_Die sp__args_with_origin(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at);

/* The operations of `die`'s location expression `at` valid at pc_off
 * (file offset); 0 if none (optimized out there). */
SP_HIDDEN uint8_t sp__args_location_at(Dwarf_Die die, Dwarf_Half at, uintptr_t pc_off, struct arg_op *ops);

/* A call site's answer, cached per function (args_eval.c). */
#define ARGS_CALL_VALUES 8
struct sp__callvalue {
	uintptr_t ret_off;
	uint8_t regno, nops, nfb;
	struct arg_op ops[MAX_OPS];
	struct arg_op fb[MAX_OPS];
};

/* What site->args points to: the out-of-line call's argspec, and those of
 * the inlined calls seen so far (by call pc). Entries are appended under
 * sp__mod_lock and published by ninl (release). */
#define ARGS_INLINED_MAX 8
struct sp__argcache {
	struct sp__argspec *out; /* NULL: not yet seen out of line */
	uintptr_t out_pc;        /* 0 until `out` is resolved */
	bool failed;             /* no DWARF for the function */
	uint32_t ninl;
	struct {
		uintptr_t pc_off;
		struct sp__argspec *spec; /* NULL: no inline information there */
	} inl[ARGS_INLINED_MAX];
	uint32_t ncv; /* published like ninl */
	struct sp__callvalue cv[ARGS_CALL_VALUES];
};

#endif
