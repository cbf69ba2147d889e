// Thin shims for the syscalls Node.js lacks. No policy lives here: each
// function checks its arguments, makes one syscall and either returns or throws
// an Error shaped like Node's own (code, errno, syscall, path). The only rule
// enforced here is safety: reboot(2) and kill(-1, …) refuse unless we are PID 1.
#include <napi.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>

namespace {

// Node's uvException shape: "EPERM: operation not permitted, mount '/proc'".
Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscall,
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
  error.ThrowAsJavaScriptException();
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

// finitModule(path, params, flags)
Napi::Value FinitModule(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 2, 1)) return ThrowType(env, "finitModule(path, params, flags)");
  std::string path = info[0].As<Napi::String>(), params = info[1].As<Napi::String>();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ThrowErrno(env, errno, "open", path);
  long rc = syscall(SYS_finit_module, fd, params.c_str(), info[2].As<Napi::Number>().Int32Value());
  int err = errno;
  close(fd);
  if (rc != 0) return ThrowErrno(env, err, "finit_module", path);
  return env.Undefined();
}

// unshare(flags)
Napi::Value Unshare(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 0, 1)) return ThrowType(env, "unshare(flags)");
  if (unshare(info[0].As<Napi::Number>().Int32Value()) != 0) return ThrowErrno(env, errno, "unshare");
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

// dup2(oldfd, newfd): what Node cannot do to its own stdio before execve.
Napi::Value Dup2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 0, 2)) return ThrowType(env, "dup2(oldfd, newfd)");
  if (dup2(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value()) < 0)
    return ThrowErrno(env, errno, "dup2");
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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("mount", Napi::Function::New(env, Mount, "mount"));
  exports.Set("umount2", Napi::Function::New(env, Umount2, "umount2"));
  exports.Set("pivotRoot", Napi::Function::New(env, PivotRoot, "pivotRoot"));
  exports.Set("chroot", Napi::Function::New(env, Chroot, "chroot"));
  exports.Set("reboot", Napi::Function::New(env, Reboot, "reboot"));
  exports.Set("killAll", Napi::Function::New(env, KillAll, "killAll"));
  exports.Set("sethostname", Napi::Function::New(env, Sethostname, "sethostname"));
  exports.Set("finitModule", Napi::Function::New(env, FinitModule, "finitModule"));
  exports.Set("unshare", Napi::Function::New(env, Unshare, "unshare"));
  exports.Set("prctl", Napi::Function::New(env, Prctl, "prctl"));
  exports.Set("sync", Napi::Function::New(env, Sync, "sync"));
  exports.Set("dup2", Napi::Function::New(env, Dup2, "dup2"));
  exports.Set("waitpid", Napi::Function::New(env, Waitpid, "waitpid"));
  return exports;
}

}  // namespace

NODE_API_MODULE(nodeos, Init)
