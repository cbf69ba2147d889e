// glibc gives each thread that allocates a malloc arena of its own (up to
// eight per CPU), and each arena keeps the pages it once used. NodeOS's own
// long-lived node processes, PID 1 and the users' log writers, run with one:
// idle, 3-4 MB less each (README, Boot speed). It has to be in the
// environment node starts with: mallopt(3) called from JavaScript changed
// nothing, as the arenas that cost are made while node starts. Users' own
// programs keep glibc's default: theirs may well use threads.
export const ONE_ARENA = { MALLOC_ARENA_MAX: '1' } as const;
