/*
 * Processes for the boot benchmark, run in the guest as root (static: the
 * image has no C library but node's). A process is cheap here and node is
 * not, which is what the figures need.
 *   procs orphans N   N orphans: each the child of a child that exits at once,
 *                     so PID 1 inherits it; each exits 1 ms later.
 *   procs sleepers N  N processes that wait for a signal (SIGTERM ends them,
 *                     the default action), their parent gone.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  int n = atoi(argv[2]);
  if (strcmp(argv[1], "orphans") == 0) {
    for (int i = 0; i < n; i++) {
      pid_t child = fork();
      if (child < 0) return 1;
      if (child == 0) {
        if (fork() == 0) {
          usleep(1000);
          _exit(0);
        }
        _exit(0);
      }
      waitpid(child, NULL, 0);
    }
    return 0;
  }
  if (strcmp(argv[1], "sleepers") == 0) {
    for (int i = 0; i < n; i++) {
      pid_t child = fork();
      if (child < 0) return 1;
      if (child == 0) {
        pause();
        _exit(0);
      }
    }
    return 0;
  }
  return 2;
}
