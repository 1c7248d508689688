/* A QEMU TCG plugin that counts how often each guest instruction executes:
 * the profile behind `cargo xtask qemu --profile`. At exit it writes
 * "<address hex> <count>" lines to the file named by its `out=` argument.
 *
 * Written against QEMU's plugin ABI (version 1, QEMU 7.x); Debian ships the
 * plugin support in qemu-system-arm but not the header, so the few
 * declarations needed are here. Code is assumed to lie below 4 MiB (the
 * MPS2 boards' code memory); instructions above are counted together.
 *
 * Build: gcc -shared -fPIC -O2 -o insn-profile.so insn-profile.c */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };

extern void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
                                                  void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
extern struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
extern uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
extern void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op,
                                                      void *ptr, uint64_t imm);
extern void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, void *),
                                           void *userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* One counter per halfword of code memory (Thumb instructions are 2 or 4 bytes). */
#define CODE_BYTES (4u << 20)
static uint64_t *counts;
static uint64_t elsewhere;
static char out_path[4096];

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t addr = qemu_plugin_insn_vaddr(insn);
        uint64_t *slot = addr < CODE_BYTES ? &counts[addr / 2] : &elsewhere;
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, slot, 1);
    }
}

static void write_counts(qemu_plugin_id_t id, void *userdata) {
    (void)id;
    (void)userdata;
    FILE *f = fopen(out_path, "w");
    if (!f) {
        perror(out_path);
        return;
    }
    for (uint64_t i = 0; i < CODE_BYTES / 2; i++) {
        if (counts[i]) {
            fprintf(f, "%llx %llu\n", (unsigned long long)(i * 2), (unsigned long long)counts[i]);
        }
    }
    fprintf(f, "elsewhere %llu\n", (unsigned long long)elsewhere);
    fclose(f);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                                                int argc, char **argv) {
    (void)info;
    snprintf(out_path, sizeof out_path, "insn-profile.txt");
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0) {
            snprintf(out_path, sizeof out_path, "%s", argv[i] + 4);
        }
    }
    counts = calloc(CODE_BYTES / 2, sizeof *counts);
    if (!counts) {
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, write_counts, NULL);
    return 0;
}
