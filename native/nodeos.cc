// Thin shims for the syscalls Node.js lacks, and one V8 call (setV8Flags).
// No policy lives here: each function checks its arguments, makes one
// syscall and either returns or throws an Error shaped like Node's own (code,
// errno, syscall, path). The only rule enforced here is safety: reboot(2) and
// kill(-1, …) refuse unless we are PID 1.
#include <napi.h>

#include <ctype.h>
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/watchdog.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <spawn.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/quota.h>
#include <stdlib.h>
#include <termios.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uv.h>
#include <v8.h>

#include <optional>
#include <string>
#include <vector>

namespace {

// Node's uvException shape: "EPERM: operation not permitted, mount '/proc'".
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall,
                       const std::string& path = "") {
  const char* code = strerrorname_np(err);
  std::string name = code ? code : "UNKNOWN";
  std::string text = strerror(err);
  if (!text.empty()) text[0] = tolower(text[0]);  // libuv's style: "no such file or directory"
  std::string message = name + ": " + text + ", " + syscall;
  if (!path.empty()) message += " '" + path + "'";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("code", Napi::String::New(env, name));
  error.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) error.Set("path", Napi::String::New(env, path));
  return error;
}

Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscall,
                       const std::string& path = "") {
  ErrnoError(env, err, syscall, path).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value ThrowType(Napi::Env env, const char* message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

// A string argument, or nullopt for null/undefined (mount's optional fields).
std::optional<std::string> OptString(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return std::nullopt;
  return info[i].ToString().Utf8Value();
}

bool CheckArgs(const Napi::CallbackInfo& info, size_t strings, size_t numbers) {
  if (info.Length() < strings + numbers) return false;
  for (size_t i = 0; i < strings; i++)
    if (!info[i].IsString()) return false;
  for (size_t i = strings; i < strings + numbers; i++)
    if (!info[i].IsNumber()) return false;
  return true;
}

const char* CStr(const std::optional<std::string>& s) { return s ? s->c_str() : nullptr; }

// mount(source, target, fstype, flags, data)
Napi::Value Mount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[1].IsString() || !info[3].IsNumber())
    return ThrowType(env, "mount(source, target, fstype, flags, data)");
  auto source = OptString(info, 0), fstype = OptString(info, 2), data = OptString(info, 4);
  std::string target = info[1].As<Napi::String>();
  unsigned long flags = info[3].As<Napi::Number>().Int64Value();
  if (mount(CStr(source), target.c_str(), CStr(fstype), flags, CStr(data)) != 0)
    return ThrowErrno(env, errno, "mount", target);
  return env.Undefined();
}

// umount2(target, flags)
Napi::Value Umount2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 1, 1)) return ThrowType(env, "umount2(target, flags)");
  std::string target = info[0].As<Napi::String>();
  if (umount2(target.c_str(), info[1].As<Napi::Number>().Int32Value()) != 0)
    return ThrowErrno(env, errno, "umount2", target);
  return env.Undefined();
}

// pivot_root(newRoot, putOld)
Napi::Value PivotRoot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 2, 0)) return ThrowType(env, "pivot_root(newRoot, putOld)");
  std::string newRoot = info[0].As<Napi::String>(), putOld = info[1].As<Napi::String>();
  if (syscall(SYS_pivot_root, newRoot.c_str(), putOld.c_str()) != 0)
    return ThrowErrno(env, errno, "pivot_root", newRoot);
  return env.Undefined();
}

// chroot(path)
Napi::Value Chroot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 1, 0)) return ThrowType(env, "chroot(path)");
  std::string path = info[0].As<Napi::String>();
  if (chroot(path.c_str()) != 0) return ThrowErrno(env, errno, "chroot", path);
  return env.Undefined();
}

// reboot(cmd): only PID 1 may ask; anywhere else it would end the host.
Napi::Value Reboot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 0, 1)) return ThrowType(env, "reboot(cmd)");
  if (getpid() != 1) return ThrowErrno(env, EPERM, "reboot");
  if (reboot(info[0].As<Napi::Number>().Int32Value()) != 0) return ThrowErrno(env, errno, "reboot");
  return env.Undefined();
}

// killAll(signal): kill(-1, signal), only from PID 1.
Napi::Value KillAll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 0, 1)) return ThrowType(env, "killAll(signal)");
  if (getpid() != 1) return ThrowErrno(env, EPERM, "kill");
  if (kill(-1, info[0].As<Napi::Number>().Int32Value()) != 0 && errno != ESRCH)
    return ThrowErrno(env, errno, "kill");
  return env.Undefined();
}

// sethostname(name)
Napi::Value Sethostname(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 1, 0)) return ThrowType(env, "sethostname(name)");
  std::string name = info[0].As<Napi::String>();
  if (sethostname(name.c_str(), name.size()) != 0) return ThrowErrno(env, errno, "sethostname", name);
  return env.Undefined();
}

// A job for libuv's thread pool that settles a promise: Start() queues it and
// returns the promise; node-addon-api deletes the job once it has settled.
class PromiseWork : public Napi::AsyncWorker {
 public:
  explicit PromiseWork(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Start() {
    Napi::Promise promise = deferred_.Promise();
    Queue();
    return promise;
  }

 protected:
  Napi::Promise::Deferred deferred_;
};

// finitModules([[path, params, flags], …]) → Promise<[Error | null, ms][]>: each
// module in turn, on libuv's thread pool (the kernel runs a module's init, a
// driver probing its devices, often for a hundred milliseconds or more, in
// the calling thread, and PID 1's loop has other work meanwhile). One job
// for a module and what it needs: no turn of PID 1's loop between them. A
// failure is that module's result; the next is still tried, as one at a time.
class FinitModulesWork : public PromiseWork {
 public:
  struct Module {
    std::string path, params;
    int flags;
    int err = 0;
    const char* syscall = "";
    double ms = 0;
  };

  FinitModulesWork(Napi::Env env, std::vector<Module> modules)
      : PromiseWork(env), modules_(std::move(modules)) {}

  void Execute() override {
    for (Module& m : modules_) {
      struct timespec start, end;
      clock_gettime(CLOCK_MONOTONIC, &start);
      Load(m);
      clock_gettime(CLOCK_MONOTONIC, &end);
      m.ms = (end.tv_sec - start.tv_sec) * 1e3 + (end.tv_nsec - start.tv_nsec) / 1e6;
    }
  }

  static void Load(Module& m) {
    int fd = open(m.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      m.err = errno;
      m.syscall = "open";
      return;
    }
    if (syscall(SYS_finit_module, fd, m.params.c_str(), m.flags) != 0) {
      m.err = errno;
      m.syscall = "finit_module";
    }
    close(fd);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array results = Napi::Array::New(env, modules_.size());
    for (size_t i = 0; i < modules_.size(); i++) {
      const Module& m = modules_[i];
      Napi::Array result = Napi::Array::New(env, 2);
      result.Set(0u, m.err ? ErrnoError(env, m.err, m.syscall, m.path).Value() : env.Null());
      result.Set(1u, Napi::Number::New(env, m.ms));
      results.Set(i, result);
    }
    deferred_.Resolve(results);
  }

 private:
  std::vector<Module> modules_;
};

Napi::Value FinitModules(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage = "finitModules([[path, params, flags], …])";
  if (info.Length() < 1 || !info[0].IsArray()) return ThrowType(env, usage);
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<FinitModulesWork::Module> modules;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value item = list.Get(i);
    if (!item.IsArray()) return ThrowType(env, usage);
    Napi::Array entry = item.As<Napi::Array>();
    if (entry.Length() < 3 || !entry.Get(0u).IsString() || !entry.Get(1u).IsString() || !entry.Get(2u).IsNumber()) return ThrowType(env, usage);
    modules.push_back({entry.Get(0u).As<Napi::String>(), entry.Get(1u).As<Napi::String>(), entry.Get(2u).As<Napi::Number>().Int32Value()});
  }
  return (new FinitModulesWork(env, std::move(modules)))->Start();
}

// readSysfs([path, …]) → Promise<(string | null)[]>: sysfs attributes, each
// at most a page (one read gives the whole), in one job on libuv's thread
// pool. The kernel's first look at a device's files is slow on an emulated
// CPU (2 ms a file under TCG); here it runs beside PID 1's loop. null: the
// file is not there (most devices have no modalias) or could not be read.
class ReadSysfsWork : public PromiseWork {
 public:
  ReadSysfsWork(Napi::Env env, std::vector<std::string> paths) : PromiseWork(env), paths_(std::move(paths)), texts_(paths_.size()) {}

  void Execute() override {
    std::vector<char> page(sysconf(_SC_PAGESIZE));
    for (size_t i = 0; i < paths_.size(); i++) {
      int fd = open(paths_[i].c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      ssize_t n = read(fd, page.data(), page.size());
      close(fd);
      if (n >= 0) texts_[i] = std::string(page.data(), n);
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array results = Napi::Array::New(env, texts_.size());
    for (size_t i = 0; i < texts_.size(); i++) results.Set(i, texts_[i] ? Napi::Value(Napi::String::New(env, *texts_[i])) : env.Null());
    deferred_.Resolve(results);
  }

 private:
  std::vector<std::string> paths_;
  std::vector<std::optional<std::string>> texts_;
};

Napi::Value ReadSysfs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage = "readSysfs([path, …])";
  if (info.Length() < 1 || !info[0].IsArray()) return ThrowType(env, usage);
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<std::string> paths;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value item = list.Get(i);
    if (!item.IsString()) return ThrowType(env, usage);
    paths.push_back(item.As<Napi::String>());
  }
  return (new ReadSysfsWork(env, std::move(paths)))->Start();
}

// unshare(flags)
Napi::Value Unshare(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 0, 1)) return ThrowType(env, "unshare(flags)");
  if (unshare(info[0].As<Napi::Number>().Int32Value()) != 0) return ThrowErrno(env, errno, "unshare");
  return env.Undefined();
}

// setQuota(device, type, id, blockLimitKiB): quotactl(Q_SETQUOTA) with the
// block limits only (hard = soft: no grace period); 0 means no limit.
Napi::Value SetQuota(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 1, 3)) return ThrowType(env, "setQuota(device, type, id, blockLimitKiB)");
  std::string device = info[0].As<Napi::String>().Utf8Value();
  struct dqblk limits = {};
  limits.dqb_bhardlimit = limits.dqb_bsoftlimit = (uint64_t)info[3].As<Napi::Number>().Int64Value();
  limits.dqb_valid = QIF_BLIMITS;
  if (quotactl(QCMD(Q_SETQUOTA, info[1].As<Napi::Number>().Int32Value()), device.c_str(),
               info[2].As<Napi::Number>().Int32Value(), (caddr_t)&limits) != 0)
    return ThrowErrno(env, errno, "quotactl", device);
  return env.Undefined();
}

// prctl(option, arg2): the integer-only options (NO_NEW_PRIVS, CHILD_SUBREAPER …).
Napi::Value Prctl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 0, 2)) return ThrowType(env, "prctl(option, arg2)");
  int rc = prctl(info[0].As<Napi::Number>().Int32Value(),
                 (unsigned long)info[1].As<Napi::Number>().Int64Value(), 0UL, 0UL, 0UL);
  if (rc < 0) return ThrowErrno(env, errno, "prctl");
  return Napi::Number::New(env, rc);
}

// setV8Flags(flags): V8's flags, as node:v8's setFlagsFromString sets them.
// node:v8 loads node:stream (20 modules), too dear for the start of PID 1's boot.
Napi::Value SetV8Flags(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 1, 0)) return ThrowType(env, "setV8Flags(flags)");
  std::string flags = info[0].As<Napi::String>();
  v8::V8::SetFlagsFromString(flags.c_str(), flags.size());
  return env.Undefined();
}

// watchdogSetTimeout(fd, seconds) → the timeout the driver set (WDIOC_SETTIMEOUT
// writes back what it chose); watchdogGetTimeout(fd) → its current one.
Napi::Value WatchdogSetTimeout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 0, 2)) return ThrowType(env, "watchdogSetTimeout(fd, seconds)");
  int timeout = info[1].As<Napi::Number>().Int32Value();
  if (ioctl(info[0].As<Napi::Number>().Int32Value(), WDIOC_SETTIMEOUT, &timeout) != 0) return ThrowErrno(env, errno, "ioctl(WDIOC_SETTIMEOUT)");
  return Napi::Number::New(env, timeout);
}

Napi::Value WatchdogGetTimeout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 0, 1)) return ThrowType(env, "watchdogGetTimeout(fd)");
  int timeout = 0;
  if (ioctl(info[0].As<Napi::Number>().Int32Value(), WDIOC_GETTIMEOUT, &timeout) != 0) return ThrowErrno(env, errno, "ioctl(WDIOC_GETTIMEOUT)");
  return Napi::Number::New(env, timeout);
}

// dup2(oldfd, newfd): what Node cannot do to its own stdio before execve.
Napi::Value Dup2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 0, 2)) return ThrowType(env, "dup2(oldfd, newfd)");
  if (dup2(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value()) < 0)
    return ThrowErrno(env, errno, "dup2");
  return env.Undefined();
}

// isatty(fd): node:tty would answer too, but loads node:net and node:stream
// with it (a container's PID 1 asks before ready whether it has a terminal).
Napi::Value Isatty(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 0, 1)) return ThrowType(env, "isatty(fd)");
  return Napi::Boolean::New(env, isatty(info[0].As<Napi::Number>().Int32Value()) == 1);
}

// pipe() → { read, write }: both ends close-on-exec, so each reaches only the
// child it is handed to as stdio (an init's output, before its log writer runs).
Napi::Value Pipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return ThrowErrno(env, errno, "pipe2");
  Napi::Object result = Napi::Object::New(env);
  result.Set("read", Napi::Number::New(env, fds[0]));
  result.Set("write", Napi::Number::New(env, fds[1]));
  return result;
}

// A JavaScript array of strings, for argv and envp.
std::vector<std::string> Strings(Napi::Array array) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < array.Length(); i++) out.push_back(array.Get(i).ToString().Utf8Value());
  return out;
}

std::vector<char*> NullTerminated(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// spawn(file, argv, env, fds, setsid) → pid. posix_spawn, which glibc runs as
// clone(CLONE_VM | CLONE_VFORK): PID 1's page tables are not copied (libuv
// forks), so a launch costs the same however big PID 1 has grown. The
// child's fd i is fds[i] (-1: /dev/null); every signal at its default and
// none blocked; a session of its own when setsid. Its exit is collected with
// waitpid, not by libuv.
Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsString() || !info[1].IsArray() || !info[2].IsArray() || !info[3].IsArray())
    return ThrowType(env, "spawn(file, argv, env, fds, setsid)");
  std::string file = info[0].As<Napi::String>();
  std::vector<std::string> argvStrings = Strings(info[1].As<Napi::Array>()), envStrings = Strings(info[2].As<Napi::Array>());
  std::vector<char*> argv = NullTerminated(argvStrings), envp = NullTerminated(envStrings);
  Napi::Array fds = info[3].As<Napi::Array>();
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  for (uint32_t i = 0; i < fds.Length(); i++) {
    int fd = fds.Get(i).ToNumber().Int32Value();
    // A source below the count could be overwritten by an earlier dup2 before it is read.
    if (fd >= 0 && fd < (int)fds.Length()) {
      posix_spawn_file_actions_destroy(&actions);
      posix_spawnattr_destroy(&attr);
      return ThrowType(env, "spawn: each fd must be -1 or at least the number of fds");
    }
    if (fd < 0) posix_spawn_file_actions_addopen(&actions, i, "/dev/null", O_RDWR, 0);
    else posix_spawn_file_actions_adddup2(&actions, fd, i);
  }
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | (info[4].ToBoolean() ? POSIX_SPAWN_SETSID : 0));
  pid_t pid = 0;
  int err = posix_spawn(&pid, file.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err != 0) return ThrowErrno(env, err, "posix_spawn", file);
  return Napi::Number::New(env, pid);
}

// setControllingTerminal(fd): TIOCSCTTY, after setsid, so the terminal's
// job-control signals (Ctrl-C, Ctrl-Z) reach this session and no other.
Napi::Value SetControllingTerminal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 0, 1)) return ThrowType(env, "setControllingTerminal(fd)");
  if (ioctl(info[0].As<Napi::Number>().Int32Value(), TIOCSCTTY, 0) != 0) return ThrowErrno(env, errno, "ioctl(TIOCSCTTY)");
  return env.Undefined();
}

// openpty() → { master, slave }: a pseudo-terminal for a remote session, both
// ends close-on-exec (the slave is handed to the session as its stdio).
Napi::Value Openpty(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return ThrowErrno(env, errno, "posix_openpt");
  char name[64];
  if (grantpt(master) != 0 || unlockpt(master) != 0 || ptsname_r(master, name, sizeof name) != 0) {
    int err = errno;
    close(master);
    return ThrowErrno(env, err, "unlockpt");
  }
  int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    int err = errno;
    close(master);
    return ThrowErrno(env, err, "open", name);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("master", Napi::Number::New(env, master));
  result.Set("slave", Napi::Number::New(env, slave));
  result.Set("path", Napi::String::New(env, name));
  return result;
}

// setWindowSize(fd, rows, cols): TIOCSWINSZ (the session sees SIGWINCH).
Napi::Value SetWindowSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 0, 3)) return ThrowType(env, "setWindowSize(fd, rows, cols)");
  struct winsize size = {};
  size.ws_row = (unsigned short)info[1].As<Napi::Number>().Uint32Value();
  size.ws_col = (unsigned short)info[2].As<Napi::Number>().Uint32Value();
  if (ioctl(info[0].As<Napi::Number>().Int32Value(), TIOCSWINSZ, &size) != 0) return ThrowErrno(env, errno, "ioctl(TIOCSWINSZ)");
  return env.Undefined();
}

Napi::Value Sync(const Napi::CallbackInfo& info) {
  sync();
  return info.Env().Undefined();
}

// waitpid(pid, options) → null when nothing changed (WNOHANG),
// else { pid, code, signal } with Node's exit-event conventions.
Napi::Value Waitpid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 0, 2)) return ThrowType(env, "waitpid(pid, options)");
  int status = 0;
  pid_t pid = waitpid(info[0].As<Napi::Number>().Int32Value(), &status,
                      info[1].As<Napi::Number>().Int32Value());
  if (pid < 0) return ThrowErrno(env, errno, "waitpid");
  if (pid == 0) return env.Null();
  Napi::Object result = Napi::Object::New(env);
  result.Set("pid", Napi::Number::New(env, pid));
  result.Set("code", WIFEXITED(status) ? Napi::Number::New(env, WEXITSTATUS(status)) : env.Null());
  result.Set("signal", WIFSIGNALED(status) ? Napi::Number::New(env, WTERMSIG(status)) : env.Null());
  return result;
}

// clockSettime(ms): CLOCK_REALTIME, for SNTP and the saved clock.
Napi::Value ClockSettime(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 0, 1)) return ThrowType(env, "clockSettime(ms)");
  int64_t ms = info[0].As<Napi::Number>().Int64Value();
  struct timespec ts = {(time_t)(ms / 1000), (long)((ms % 1000) * 1000000)};
  if (clock_settime(CLOCK_REALTIME, &ts) != 0) return ThrowErrno(env, errno, "clock_settime");
  return env.Undefined();
}

// udpBindDevice(ifname, port) → fd: a UDP socket bound to 0.0.0.0:port that
// sends and receives on that interface only (SO_BINDTODEVICE), broadcasts
// allowed. node:dgram adopts it with bind({ fd }); one per interface, so each
// DHCP client has its own port 68 and its broadcasts leave by its own link.
Napi::Value UdpBindDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 1, 1)) return ThrowType(env, "udpBindDevice(ifname, port)");
  std::string ifname = info[0].As<Napi::String>();
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return ThrowErrno(env, errno, "socket");
  int one = 1;
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(info[1].As<Napi::Number>().Int32Value());
  const char* failed = nullptr;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) failed = "setsockopt";
  else if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) != 0) failed = "setsockopt";
  else if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), ifname.size()) != 0) failed = "setsockopt";
  else if (bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0) failed = "bind";
  if (failed) {
    int err = errno;
    close(fd);
    return ThrowErrno(env, err, failed, ifname);
  }
  return Napi::Number::New(env, fd);
}

// rtnetlink: one request, one acknowledgement. The message is built by the
// callers below (struct header + attributes); errors come back as errno.
class NetlinkRequest {
 public:
  NetlinkRequest(uint16_t type, uint16_t flags, const void* body, size_t size) {
    Append(nullptr, NLMSG_HDRLEN);
    Append(body, size);
    header()->nlmsg_type = type;
    header()->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  }
  void Attr(uint16_t type, const void* data, size_t size) {
    struct rtattr attr = {(unsigned short)RTA_LENGTH(size), type};
    Append(&attr, sizeof attr);
    Append(data, size);
  }
  // 0, or the errno the kernel answered with.
  int Send() {
    header()->nlmsg_len = buffer_.size();
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return errno;
    struct sockaddr_nl kernel = {};
    kernel.nl_family = AF_NETLINK;
    int err = 0;
    if (sendto(fd, buffer_.data(), buffer_.size(), 0, (struct sockaddr*)&kernel, sizeof kernel) < 0) err = errno;
    char reply[4096];
    while (!err) {
      ssize_t n = recv(fd, reply, sizeof reply, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        err = errno;
        break;
      }
      struct nlmsghdr* msg = (struct nlmsghdr*)reply;
      if (n < (ssize_t)NLMSG_HDRLEN || msg->nlmsg_type != NLMSG_ERROR) continue;
      err = -((struct nlmsgerr*)NLMSG_DATA(msg))->error;
      break;
    }
    close(fd);
    return err;
  }

 private:
  struct nlmsghdr* header() { return (struct nlmsghdr*)buffer_.data(); }
  void Append(const void* data, size_t size) {
    size_t at = buffer_.size();
    buffer_.resize(at + NLMSG_ALIGN(size), 0);
    if (data) memcpy(buffer_.data() + at, data, size);
  }
  std::vector<char> buffer_;
};

struct Address {
  int family = 0;
  unsigned char bytes[16] = {};
  size_t size() const { return family == AF_INET ? 4 : 16; }
};

bool ParseAddress(const std::string& text, Address* out) {
  if (inet_pton(AF_INET, text.c_str(), out->bytes) == 1) out->family = AF_INET;
  else if (inet_pton(AF_INET6, text.c_str(), out->bytes) == 1) out->family = AF_INET6;
  return out->family != 0;
}

// linkSet(ifname, up, mtu): brings a link up or down; mtu 0 leaves it as is.
Napi::Value LinkSet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsBoolean() || !info[2].IsNumber())
    return ThrowType(env, "linkSet(ifname, up, mtu)");
  std::string ifname = info[0].As<Napi::String>();
  struct ifinfomsg link = {};
  link.ifi_family = AF_UNSPEC;
  link.ifi_index = if_nametoindex(ifname.c_str());
  if (!link.ifi_index) return ThrowErrno(env, ENODEV, "RTM_NEWLINK", ifname);
  link.ifi_change = IFF_UP;
  link.ifi_flags = info[1].As<Napi::Boolean>() ? IFF_UP : 0;
  NetlinkRequest request(RTM_NEWLINK, 0, &link, sizeof link);
  uint32_t mtu = info[2].As<Napi::Number>().Uint32Value();
  if (mtu) request.Attr(IFLA_MTU, &mtu, sizeof mtu);
  if (int err = request.Send()) return ThrowErrno(env, err, "RTM_NEWLINK", ifname);
  return env.Undefined();
}

// addressAdd / addressDelete(ifname, address, prefixLength), IPv4 or IPv6.
Napi::Value AddressChange(const Napi::CallbackInfo& info, uint16_t type, uint16_t flags, const char* name) {
  Napi::Env env = info.Env();
  Address address;
  if (!CheckArgs(info, 2, 1) || !ParseAddress(info[1].As<Napi::String>(), &address))
    return ThrowType(env, "(ifname, address, prefixLength)");
  std::string ifname = info[0].As<Napi::String>();
  struct ifaddrmsg msg = {};
  msg.ifa_family = address.family;
  msg.ifa_prefixlen = info[2].As<Napi::Number>().Uint32Value();
  msg.ifa_index = if_nametoindex(ifname.c_str());
  if (!msg.ifa_index) return ThrowErrno(env, ENODEV, name, ifname);
  NetlinkRequest request(type, flags, &msg, sizeof msg);
  request.Attr(IFA_LOCAL, address.bytes, address.size());
  request.Attr(IFA_ADDRESS, address.bytes, address.size());
  if (address.family == AF_INET && msg.ifa_prefixlen < 31) {
    uint32_t host = msg.ifa_prefixlen ? 0xffffffffu >> msg.ifa_prefixlen : 0xffffffffu;
    uint32_t broadcast;
    memcpy(&broadcast, address.bytes, 4);
    broadcast |= htonl(host);
    request.Attr(IFA_BROADCAST, &broadcast, 4);
  }
  if (int err = request.Send()) return ThrowErrno(env, err, name, ifname);
  return env.Undefined();
}
Napi::Value AddressAdd(const Napi::CallbackInfo& info) {
  return AddressChange(info, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, "RTM_NEWADDR");
}
Napi::Value AddressDelete(const Napi::CallbackInfo& info) { return AddressChange(info, RTM_DELADDR, 0, "RTM_DELADDR"); }

// routeAdd / routeDelete(ifname, destination, prefixLength, gateway|null): main table.
Napi::Value RouteChange(const Napi::CallbackInfo& info, uint16_t type, uint16_t flags, const char* name) {
  Napi::Env env = info.Env();
  Address destination, gateway;
  auto gatewayText = OptString(info, 3);
  if (!CheckArgs(info, 2, 1) || !ParseAddress(info[1].As<Napi::String>(), &destination) ||
      (gatewayText && (!ParseAddress(*gatewayText, &gateway) || gateway.family != destination.family)))
    return ThrowType(env, "(ifname, destination, prefixLength, gateway)");
  std::string ifname = info[0].As<Napi::String>();
  uint32_t index = if_nametoindex(ifname.c_str());
  if (!index) return ThrowErrno(env, ENODEV, name, ifname);
  struct rtmsg msg = {};
  msg.rtm_family = destination.family;
  msg.rtm_dst_len = info[2].As<Napi::Number>().Uint32Value();
  msg.rtm_table = RT_TABLE_MAIN;
  msg.rtm_protocol = RTPROT_BOOT;
  msg.rtm_scope = gatewayText ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  msg.rtm_type = RTN_UNICAST;
  NetlinkRequest request(type, flags, &msg, sizeof msg);
  if (msg.rtm_dst_len) request.Attr(RTA_DST, destination.bytes, destination.size());
  if (gatewayText) request.Attr(RTA_GATEWAY, gateway.bytes, gateway.size());
  request.Attr(RTA_OIF, &index, sizeof index);
  if (int err = request.Send()) return ThrowErrno(env, err, name, ifname);
  return env.Undefined();
}
// ueventListen(callback): the kernel's device announcements (what udev reads),
// from a NETLINK_KOBJECT_UEVENT socket watched on Node's own loop. callback
// gets each message as a Buffer, or null when the kernel dropped some (the
// socket's buffer overflowed: look at every device again). At most
// kUeventBurst messages per turn of the loop, so a storm cannot starve it.
// Returns a function that stops listening.
constexpr int kUeventBurst = 256;

struct UeventWatch {
  uv_poll_t poll;
  int fd;
  Napi::FunctionReference callback;
};

void OnUevent(uv_poll_t* handle, int status, int) {
  auto* watch = static_cast<UeventWatch*>(handle->data);
  if (status < 0 || watch->callback.IsEmpty()) return;
  Napi::Env env = watch->callback.Env();
  Napi::HandleScope scope(env);
  Napi::Object receiver = Napi::Object::New(env);
  char buffer[8192];
  for (int i = 0; i < kUeventBurst; i++) {
    ssize_t n = recv(watch->fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ENOBUFS) {
      watch->callback.MakeCallback(receiver, {env.Null()});
      continue;
    }
    if (n <= 0) return;  // EAGAIN: all read
    watch->callback.MakeCallback(receiver, {Napi::Buffer<char>::Copy(env, buffer, n)});
    if (watch->callback.IsEmpty()) return;  // the callback stopped listening
  }
}

Napi::Value UeventListen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) return ThrowType(env, "ueventListen(callback)");
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
  if (fd < 0) return ThrowErrno(env, errno, "socket");
  struct sockaddr_nl address = {};
  address.nl_family = AF_NETLINK;
  address.nl_groups = 1;  // the kernel's own announcements
  int size = 4 << 20;     // room for a burst (a driver finding many devices)
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&address), sizeof address) != 0) {
    int err = errno;
    close(fd);
    return ThrowErrno(env, err, "bind");
  }
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  auto* watch = new UeventWatch();
  watch->fd = fd;
  watch->callback = Napi::Persistent(info[0].As<Napi::Function>());
  watch->poll.data = watch;
  int err = uv_poll_init(loop, &watch->poll, fd);
  if (err != 0) {
    close(fd);
    delete watch;
    return ThrowErrno(env, -err, "uv_poll_init");  // libuv's errors are negated errnos on Linux
  }
  uv_poll_start(&watch->poll, UV_READABLE, OnUevent);
  return Napi::Function::New(env, [watch](const Napi::CallbackInfo& info) {
    if (watch->callback.IsEmpty()) return info.Env().Undefined();
    watch->callback.Reset();
    uv_poll_stop(&watch->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(&watch->poll), [](uv_handle_t* handle) {
      auto* done = static_cast<UeventWatch*>(handle->data);
      close(done->fd);
      delete done;
    });
    return info.Env().Undefined();
  });
}

Napi::Value RouteAdd(const Napi::CallbackInfo& info) {
  return RouteChange(info, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, "RTM_NEWROUTE");
}
Napi::Value RouteDelete(const Napi::CallbackInfo& info) { return RouteChange(info, RTM_DELROUTE, 0, "RTM_DELROUTE"); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("mount", Napi::Function::New(env, Mount, "mount"));
  exports.Set("umount2", Napi::Function::New(env, Umount2, "umount2"));
  exports.Set("pivotRoot", Napi::Function::New(env, PivotRoot, "pivotRoot"));
  exports.Set("chroot", Napi::Function::New(env, Chroot, "chroot"));
  exports.Set("reboot", Napi::Function::New(env, Reboot, "reboot"));
  exports.Set("killAll", Napi::Function::New(env, KillAll, "killAll"));
  exports.Set("sethostname", Napi::Function::New(env, Sethostname, "sethostname"));
  exports.Set("finitModules", Napi::Function::New(env, FinitModules, "finitModules"));
  exports.Set("readSysfs", Napi::Function::New(env, ReadSysfs, "readSysfs"));
  exports.Set("unshare", Napi::Function::New(env, Unshare, "unshare"));
  exports.Set("prctl", Napi::Function::New(env, Prctl, "prctl"));
  exports.Set("setV8Flags", Napi::Function::New(env, SetV8Flags, "setV8Flags"));
  exports.Set("sync", Napi::Function::New(env, Sync, "sync"));
  exports.Set("setControllingTerminal", Napi::Function::New(env, SetControllingTerminal, "setControllingTerminal"));
  exports.Set("openpty", Napi::Function::New(env, Openpty, "openpty"));
  exports.Set("setWindowSize", Napi::Function::New(env, SetWindowSize, "setWindowSize"));
  exports.Set("dup2", Napi::Function::New(env, Dup2, "dup2"));
  exports.Set("isatty", Napi::Function::New(env, Isatty, "isatty"));
  exports.Set("pipe", Napi::Function::New(env, Pipe, "pipe"));
  exports.Set("spawn", Napi::Function::New(env, Spawn, "spawn"));
  exports.Set("watchdogSetTimeout", Napi::Function::New(env, WatchdogSetTimeout, "watchdogSetTimeout"));
  exports.Set("watchdogGetTimeout", Napi::Function::New(env, WatchdogGetTimeout, "watchdogGetTimeout"));
  exports.Set("waitpid", Napi::Function::New(env, Waitpid, "waitpid"));
  exports.Set("clockSettime", Napi::Function::New(env, ClockSettime, "clockSettime"));
  exports.Set("udpBindDevice", Napi::Function::New(env, UdpBindDevice, "udpBindDevice"));
  exports.Set("linkSet", Napi::Function::New(env, LinkSet, "linkSet"));
  exports.Set("addressAdd", Napi::Function::New(env, AddressAdd, "addressAdd"));
  exports.Set("addressDelete", Napi::Function::New(env, AddressDelete, "addressDelete"));
  exports.Set("routeAdd", Napi::Function::New(env, RouteAdd, "routeAdd"));
  exports.Set("routeDelete", Napi::Function::New(env, RouteDelete, "routeDelete"));
  exports.Set("setQuota", Napi::Function::New(env, SetQuota, "setQuota"));
  exports.Set("ueventListen", Napi::Function::New(env, UeventListen, "ueventListen"));
  return exports;
}

}  // namespace

NODE_API_MODULE(nodeos, Init)
