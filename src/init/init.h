/*
 * nemoclaw-init: declarations shared by its units. The start sequence is nemoclaw-init.c; each
 * other unit is one mechanism (spec.c, root.c, namespaces.c, relay.c, privileges.c, landlock.c,
 * seccomp.c, report.c, sha256.c, probe.c, join.c, inbound.c). State is two plain structs: what the spec asks for
 * (`spec`) and what was actually enforced (`done`, for the report).
 */
#ifndef NEMOCLAW_INIT_H
#define NEMOCLAW_INIT_H

#include <linux/filter.h>
#include <stdint.h>
#include <sys/types.h>

#define SPEC_FD 3
#define BPF_FD 4
#define REPORT_FD 5
#define FAIL 125
#define MAX_LIST 256

/* A Landlock right or scope by its kernel name; bit i of a mask is entry i of its table. */
struct right { const char *name; int abi; };
extern const struct right FS_RIGHTS[], NET_RIGHTS[], SCOPES[];

struct mnt { char *target, *source; int rw, exec; };
struct prule { char *path; uint64_t access; };
struct nrule { uint64_t port, access; };

/* What the spec asks for (spec.c). */
extern struct spec {
  char *name, *root, *image, *workdir, *gateway, *pids_cg, *mem_cg;
  char *disk_image, *disk_mount; /* the sandbox's own file system (disk.c); NULL: none */
  long uid, gid, nofile, pids, floor, proxy_port;
  long idmap; /* first host id of the sandbox's own 65536-id range (root only); -1: none */
  struct mnt mounts[MAX_LIST]; int n_mounts;
  char *exec[MAX_LIST]; int n_exec;
  char *env[MAX_LIST + 1]; int n_env;
  char *argv[MAX_LIST + 1]; int n_argv;
  uint64_t ll_fs, ll_net, ll_scope;
  struct prule prules[MAX_LIST]; int n_prules;
  struct nrule nrules[MAX_LIST]; int n_nrules;
  long inbound[MAX_LIST]; int n_inbound; /* published-port sockets (inbound.c) */
} spec;
extern struct sock_fprog bpf;

/* What was actually enforced, for the report (report.c). */
extern struct done {
  int memfd_noexec; /* vm.memfd_noexec=2 in the sandbox's pid namespace */
  int ro_binds, ro_idmapped; /* read_only binds, and how many are idmapped (sockets unreachable) */
  int disk; /* rw data on the sandbox's own file system (limits.disk) */
  int agent_userns; /* the agent runs in its own user namespace over spec.idmap (root) */
  int userns, relay, abi, ll_enforced, ll_paths, ll_nets, ll_skipped, bpf_len;
  uint64_t fs, net, scope;
  char bpf_sha[65];
  const char *pids_via;
} done;

extern const char *step;   /* the step running now: named in every failure */
extern int container_mode; /* started by the docker driver (`--container RUNDIR`) */
extern int report_fd;

/* report.c */
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);
#define CHECK(expr, ...) do { if ((expr) < 0) die(__VA_ARGS__); } while (0)
void send_report(void);

/* spec.c */
void parse_spec(void);
void read_bpf(void);

/* sha256.c */
void sha256_hex(const unsigned char *data, size_t len, char out[65]);

/* namespaces.c: steps before the pid namespace, and the loopback inside it */
void join_cgroups(void);
void create_namespaces(void);
void bring_up_loopback(void);

/* root.c: the sandbox root, in pid 1 (prepare_idmap runs in the outer process, before the namespaces) */
void prepare_idmap(void);
void build_root(void);
void pivot_into_root(void);
#define PTY_MAX "64" /* ptys per devpts instance: the sandbox's own, and each connect session's */
int mount_devpts(int target_fd, long uid, long gid);

/* disk.c: in pid 1, before build_root */
void mount_disk(void);

/* relay.c */
int open_gateway_dir(void);
void start_relay(int gw_dir);
void relay_connection(int a, int b);

/* inbound.c */
void start_inbound(int gw_dir);

/* privileges.c */
void drop_helper_privileges(void);
void close_inherited_fds(void);
void set_rlimits(void);
void switch_identity(void);
void drop_capabilities(void);
void set_no_new_privs(void);

/* userns.c: the agent's own user namespace over its host id range (root only) */
void idmap_pipe(int fds[4]);
void enter_agent_userns(int fds[4]);
void map_agent_userns(pid_t agent, int fds[4]);

/* landlock.c */
int landlock_abi(void);
void apply_landlock(void);

/* seccomp.c */
void load_seccomp(void);

/* probe.c */
int probe(void);

/* join.c: `nemoclaw connect` */
__attribute__((noreturn)) void join_main(pid_t target);
__attribute__((noreturn)) void container_exec_main(const char *spec_file, const char *bpf_file);

#endif
