/*
 * lokt's file backend as a Promela model, checked with Spin (scripts/model.ts runs it).
 *
 * One lock name and the processes that use it: a plain holder (`lokt lock NAME --ttl D`, later
 * `lokt unlock NAME`), a guard and its command, waiters (`lokt lock NAME --wait`), a breaker
 * (`lokt unlock NAME --break-stale` or `--force`), and, for the liveness check, a rescuer that
 * comes once everyone else is gone. Each step is named after the function in src/locks/ that
 * makes it and the halt points around it (docs/crash-consistency.md); docs/protocol.md ("The
 * model") maps the model to the code step by step.
 *
 * Granularity: every change to a file that another process can see (unlink, link, rename, the
 * creation and the writing of a ticket) is a step of its own, so a kill can fall between any two
 * of them and a reader without the kernel lock sees every intermediate state. What a process does
 * under the kernel lock before its first such change (read the record, the process table, the
 * clock, the queue, the fence counter, and write the fence counter) is one step, the look:
 * nothing it reads can be changed meanwhile by a process that follows the protocol, and what
 * changes without the kernel lock (a death, a TTL running out, a waiter leaving or stalling) only
 * goes one way. A kill before the look's fence write leaves what a kill before the look leaves.
 *
 * The environment: any lokt process can be killed instead of making any step (the kernel drops
 * its flock, its files stay), a plain lock's TTL can run out at any moment, a queued waiter can
 * stop beating, and, in the runs of the property INSIDE, someone outside the protocol plants
 * symbolic links in the root.
 *
 * Switches (-D). Variants with one safeguard removed, which must produce counterexamples:
 *   NO_MUTEX_TAKEOVER      acquisition (and takeover) without the per-name kernel lock
 *   RELEASE_NO_COMPARE     release removes what is there, without comparing lock_id or holder
 *   PUBLISH_CREATE_WRITE   a new record is created in place, then written (no link of a temp)
 *   NO_FENCE_COUNTER       the fence is the replaced record's fence + 1 (the counter unread)
 *   NO_QUEUE_CHECK         acquisition does not look at the queue
 *   TICKET_FIRST_FREE      a new ticket takes the lowest free number, not the one after the last
 *   NO_PRUNE_DEAD_TICKETS  a dead waiter's ticket keeps its turn
 *   NO_FENCE_LINK_CHECK    the fence file is opened without refusing a symbolic link
 *   KILL_KEEPS_FLOCK       a killed process's flock stays held (a kernel that did not drop it)
 * The code as it is, where a property does not hold (docs/protocol.md says why):
 *   NO_CARRIER             macOS: no scan of other processes' environments (docs/identity.md)
 *   GAP_FENCE_RACE         a link planted at fences/NAME between openFence's lstat and open
 *   GAP_QUEUE_LINK         a link planted at queue/NAME, to a directory outside the root
 * Configuration: NW (waiters, 1 to 3), MAXKILLS (kills in a run), HAS_GUARD, HAS_BREAKER,
 * LIVENESS (adds the rescuer), INTRUDER (adds the planter of links).
 */

/* ------------------------------------------------------------------ configuration */

#ifndef NW
#define NW 1
#endif
#ifndef MAXKILLS
#define MAXKILLS 1
#endif
#ifndef HAS_GUARD
#define HAS_GUARD 1
#endif
#ifndef HAS_BREAKER
#define HAS_BREAKER 1
#endif

/* Process slots; slot 0 is nobody. A record's lock_id is the slot of the process that took it
 * (each process holds at most one hold at a time), so record ids carry no history. */
#define P   1            /* plain holder: the agent that runs `lokt lock` and `lokt unlock` */
#define G   2            /* guard */
#define C   3            /* the guard's command */
#define B   4            /* breaker */
#define W0  5            /* waiters W0 .. W0+NW-1 */
#define RS  (W0 + NW)    /* rescuer (LIVENESS) */
#define NSLOT (RS + 1)
#define IS_REC(x) ((x) > 0 && (x) < NSLOT)
#define PARTIAL 30       /* locks/NAME.json exists but holds no complete record */
#define LINKED  31       /* locks/NAME.json is a symbolic link to a file outside the root */

/* Queue tickets queue/NAME/<seq>.json, seq 1..MAXSEQ: 0 absent, EMPTY, or the waiter's slot. */
#define MAXSEQ (NW + MAXKILLS + 1)
#define EMPTY 15

/* Directory entries as the protocol sees them (INTRUDER). */
#define ABSENT 0
#define REAL   1         /* a file or directory lokt made */
#define LINK   2         /* a symbolic link to something outside the root */

mtype = { ACQUIRED, REENTERED, HELD, QUEUED, FAILED };  /* AcquireOutcome.kind, and an error */

/* ------------------------------------------------------------------ the file system */

byte lockf;                 /* locks/NAME.json: absent (0), a record's lock_id, PARTIAL, LINKED */
byte lockf_fence;           /* ... and the fence that record carries */
byte fence_ctr;             /* fences/NAME: the fence counter */
byte mutex;                 /* flock on fences/NAME: the slot holding it, 0 when free */
byte tk[MAXSEQ + 1];        /* queue/NAME/: the tickets */
byte fence_de;              /* fences/NAME as a directory entry */
byte qdir;                  /* queue/NAME as a directory entry */
bool g_child;               /* the guard's record names its command (child_pid) */

/* ------------------------------------------------------------------ processes and time */

bool alive[NSLOT];          /* the process lives (one that ended is dead) */
bool p_expired;             /* the TTL of P's record has run out */
bool stalled[NSLOT];        /* a waiter's heartbeat is older than TICKET_STALL_MS */
byte kills;

/* ------------------------------------------------------------------ ghosts (properties only) */

byte holds[NSLOT];          /* the record a process believes it holds and acts under; cleared
                               when its hold is ended by `--force` (it learns on its next look) */
byte max_fence;             /* highest fence of a published record */
byte wseq[NSLOT];           /* a waiter's ticket number, once written */
bool qb[9];                 /* QB(v, w): waiter v queued before waiter w (both still queued) */
bool ever_stalled[NSLOT];   /* a waiter that stalled while queued lost its claim to order */
bool fence_ok = true;       /* every new record's fence exceeds all before it (and the counter
                               on disk is never below the fence of the record in place) */
bool fifo_ok = true;        /* no acquisition overtook a live waiter, queued earlier, that kept
                               beating */
bool whole_ok = true;       /* no read of locks/NAME.json saw a partial record */
bool inside_ok = true;      /* no file outside the root was created, written or removed */
bool rescued;               /* LIVENESS: the rescuer acquired */

/* ------------------------------------------------------------------ properties */

/* A live process that believes it holds is the one the file names, unless its plain lock's TTL
 * ran out (the hold ended by the rule the holder asked for; it learns on its next look). */
#define NAMED(p) (!alive[p] || holds[p] == 0 || lockf == holds[p] || (holds[p] == P && p_expired))
#if NW >= 3
#define NAMED_W (NAMED(W0) && NAMED(W0 + 1) && NAMED(W0 + 2))
#define WAITERS_DEAD (!alive[W0] && !alive[W0 + 1] && !alive[W0 + 2])
#elif NW == 2
#define NAMED_W (NAMED(W0) && NAMED(W0 + 1))
#define WAITERS_DEAD (!alive[W0] && !alive[W0 + 1])
#else
#define NAMED_W NAMED(W0)
#define WAITERS_DEAD (!alive[W0])
#endif
#define ALL_DEAD (!alive[P] && !alive[G] && !alive[C] && !alive[B] && WAITERS_DEAD)

ltl mutex  { [] (NAMED(P) && NAMED(G) && NAMED(C) && NAMED(RS) && NAMED_W) }
ltl fence  { [] (fence_ok && (!IS_REC(lockf) || lockf_fence <= fence_ctr)) }
ltl fifo   { [] fifo_ok }
ltl whole  { [] whole_ok }
ltl inside { [] inside_ok }
ltl live   { [] (ALL_DEAD -> <> rescued) }
/* ENDS, checked without a claim: no run gets stuck (Spin's invalid end states). */

/* The order in which waiters queued, as time saw it (not as the ticket numbers say). */
#define QB(v, w) qb[((v) - W0) * 3 + (w) - W0]
#define IS_W(v) ((v) >= W0 && (v) < W0 + NW)

/* A waiter has written its ticket: every waiter queued now is before it. */
inline queued() {
  wseq[me] = s;
  i = W0;
  do
  :: i < W0 + NW -> if :: i != me && wseq[i] != 0 -> QB(i, me) = true :: else -> skip fi; i++
  :: else -> i = 0; break
  od
}

/* A waiter is no longer queued (it acquired, left, or died). */
inline unqueued() {
  wseq[me] = 0;
  if
  :: IS_W(me) ->
     i = W0;
     do
     :: i < W0 + NW -> QB(i, me) = false; QB(me, i) = false; i++
     :: else -> i = 0; break
     od
  :: else -> skip
  fi
}

/* ------------------------------------------------------------------ kills */

#define LOCALS \
  byte seen, s, ahead, fence, mine, myseq, i; \
  bool replaced, taking, failed, lost; \
  mtype out

/* SIGKILL: the process is gone, the kernel drops its flock, its files stay. Its locals are
 * cleared so that the states after a kill coincide. */
inline die() {
  kills++;
  alive[me] = false;
  holds[me] = 0;
  stalled[me] = false;
  ever_stalled[me] = false;
  unqueued();
  if
  :: me == P -> p_expired = false        /* a dead agent's lock is stale by its death */
  :: me == C -> g_child = false          /* a dead command is no evidence */
  :: else -> skip
  fi;
#ifndef KILL_KEEPS_FLOCK
  if
  :: mutex == me -> mutex = 0
  :: else -> skip
  fi;
#endif
  seen = 0; s = 0; ahead = 0; fence = 0; mine = 0; myseq = 0;
  replaced = false; taking = false; failed = false; lost = false; out = 0
}

/* The alternative to every step: the process is killed instead of making it. */
#define DIES atomic { kills < MAXKILLS && alive[me] -> die() }; goto dead

/* ------------------------------------------------------------------ steps */

/* mutex.ts openMutexFile -> openFence, before the flock. Only the runs of INSIDE plant links;
 * elsewhere opening (and creating) fences/NAME changes nothing anyone sees. */
inline openMutexFile() {
#ifdef INTRUDER
  /* lstat(fences/NAME): a link is refused */
#ifndef NO_FENCE_LINK_CHECK
  if
  :: fence_de == LINK -> failed = true
  :: else -> skip
  fi;
#endif
  if
  :: !failed ->
     /* open(fences/NAME, O_RDWR|O_CREAT, 0600): follows a link, creating its missing target */
     atomic {
       if
       :: fence_de == LINK -> inside_ok = false
       :: fence_de == ABSENT -> fence_de = REAL
       :: else -> skip
       fi
     };
#ifndef NO_FENCE_LINK_CHECK
     /* lstat + fstat: the path must still name the file opened */
     if
     :: fence_de == LINK -> failed = true
     :: else -> skip
     fi
#endif
  :: else -> skip
  fi
#else
  skip
#endif
}

/* The kernel lock around an acquisition attempt (withNameMutex: flock(LOCK_EX), which waits while
 * another process holds it; close() releases it). The original tool's takeover had none. */
#ifdef NO_MUTEX_TAKEOVER
#define ACQ_FLOCK   true
#define ACQ_TAKE    skip
#define ACQ_CLOSE   skip
#else
#define ACQ_FLOCK   (mutex == 0)
#define ACQ_TAKE    mutex = me
#define ACQ_CLOSE   assert(mutex == me); mutex = 0
#endif

/* stale.ts judge, through context.ts judgeNow: the process table and the clock, now. A guard's
 * record lives while the guard lives, or its command (recorded as child_pid, or, on Linux, found
 * by LOKT_LOCK_ID in its environment); a plain record ends at its TTL or its process's death. */
#ifdef NO_CARRIER
#define CMD_EVIDENCE (alive[C] && g_child)
#else
#define CMD_EVIDENCE alive[C]
#endif
#define STALE(r) ((r) == G -> (!alive[G] && !CMD_EVIDENCE) : (((r) == P && p_expired) || !alive[r]))

/* store.ts readRecord: read(locks/NAME.json), following a link. */
inline readRecord() {
  seen = lockf;
  if
  :: seen == PARTIAL -> whole_ok = false
  :: else -> skip
  fi
}

/* A change to a ticket file: outside the root when queue/NAME is a link. */
inline touchQueue() {
  if
  :: qdir == LINK -> inside_ok = false
  :: else -> skip
  fi
}

/* queue.ts waitersAhead: readdir, then each ticket below mine and its waiter's process: remove a
 * ticket whose waiter is dead (queue.pruned-dead) or an unreadable one older than
 * TICKET_STALL_MS (the model lets an unreadable one be either), pass over a stalled one, count
 * the others. */
inline waitersAhead() {
  ahead = 0;
  s = 1;
  do
  :: s <= MAXSEQ && (myseq == 0 || s < myseq) ->
     if
     :: tk[s] == 0 -> skip
     :: tk[s] == EMPTY -> tk[s] = 0; touchQueue()
     :: tk[s] == EMPTY -> skip
#ifdef NO_PRUNE_DEAD_TICKETS
     :: tk[s] != 0 && tk[s] != EMPTY && !alive[tk[s]] -> ahead++
#else
     :: tk[s] != 0 && tk[s] != EMPTY && !alive[tk[s]] -> tk[s] = 0; touchQueue()
#endif
     :: tk[s] != 0 && tk[s] != EMPTY && alive[tk[s]] && stalled[tk[s]] -> skip
     :: tk[s] != 0 && tk[s] != EMPTY && alive[tk[s]] && !stalled[tk[s]] -> ahead++
     fi;
     s++
  :: else -> break
  od;
  s = 0
}

/* acquire.ts attempt, the look under the kernel lock: the record (re-enter, or judge it:
 * acquire.ts replaceable), then the queue, then the fence (NameMutex.readFence, writeFence). An
 * unreadable file is abandoned once older than CORRUPT_GRACE_MS: the model lets it be either.
 * Freezes are not modelled. */
inline look() {
  readRecord();
  if
  :: seen == me && me == P ->
     out = REENTERED;                    /* holdsNow: the same holder locks again */
     fence = lockf_fence
  :: else ->
     if
     :: seen == 0 -> skip
     :: IS_REC(seen) && STALE(seen) -> replaced = true
     :: IS_REC(seen) && !STALE(seen) -> out = HELD
     :: seen == PARTIAL || seen == LINKED -> replaced = true
     :: seen == PARTIAL || seen == LINKED -> out = HELD
     fi;
     if
     :: out == HELD -> skip
     :: else ->
#ifdef NO_QUEUE_CHECK
        ahead = 0;
#else
        waitersAhead();
#endif
        if
        :: ahead > 0 -> out = QUEUED
        :: else ->
           /* acquire.ts take: the fence exceeds every fence handed out for the name */
           taking = true;
#ifdef NO_FENCE_COUNTER
           fence = (IS_REC(seen) -> lockf_fence : 0) + 1;
#else
           fence = fence_ctr;            /* NameMutex.readFence */
           if
           :: IS_REC(seen) && lockf_fence > fence -> fence = lockf_fence
           :: else -> skip
           fi;
           fence++;
#endif
           assert(fence < 200);
#ifndef NO_MUTEX_TAKEOVER
           fence_ctr = fence             /* NameMutex.writeFence: one write at offset 0
                                            (mutex.fence.before-write .. after-write) */
#endif
        fi
     fi
  fi
}

/* Checks made when a new record is published (ghosts). */
#define AHEAD_OF_ME(v) (alive[v] && wseq[v] != 0 && tk[wseq[v]] == v && !ever_stalled[v] && \
                        v != me && (myseq == 0 || QB(v, me)))
#if NW >= 3
#define OVERTAKES (AHEAD_OF_ME(W0) || AHEAD_OF_ME(W0 + 1) || AHEAD_OF_ME(W0 + 2))
#elif NW == 2
#define OVERTAKES (AHEAD_OF_ME(W0) || AHEAD_OF_ME(W0 + 1))
#else
#define OVERTAKES AHEAD_OF_ME(W0)
#endif

/* A new record in place: its lock_id and fence, and the checks of FENCE and FIFO. */
inline publishRecord() {
  lockf = me;
  lockf_fence = fence;
  if
  :: me == P -> p_expired = false
  :: else -> skip
  fi;
  if
  :: fence <= max_fence -> fence_ok = false
  :: else -> max_fence = fence
  fi;
  if
  :: OVERTAKES -> fifo_ok = false
  :: else -> skip
  fi;
  mine = me;
  holds[me] = me
}

/* acquire.ts take, after the look: remove the record judged stale, publish the new one, leave
 * the queue, close. */
inline take() {
#ifdef NO_MUTEX_TAKEOVER
  if
  :: fence_ctr = fence                   /* NameMutex.writeFence, a step of its own here */
  :: DIES
  fi;
#endif
  if
  :: replaced ->
     if
     :: atomic { lockf = 0; lockf_fence = 0 }
                                         /* acquire.takeover.judged; store.ts removeRecord:
                                            unlink(locks/NAME.json), a link itself rather than
                                            its target (store.remove.before .. after) */
     :: DIES
     fi
  :: else -> skip
  fi;
#ifdef PUBLISH_CREATE_WRITE
  /* open(locks/NAME.json, O_CREAT|O_EXCL), then write(): the name exists before its content */
  if
  :: atomic {
       if
       :: lockf == 0 -> lockf = PARTIAL; out = ACQUIRED
       :: else -> out = HELD
       fi
     }
  :: DIES
  fi;
  if
  :: atomic {
       if
       :: out == ACQUIRED && lockf == PARTIAL -> publishRecord()
       :: out == ACQUIRED && lockf != PARTIAL -> mine = me; holds[me] = me  /* unnamed inode */
       :: else -> skip
       fi;
       if
       :: myseq == 0 -> ACQ_CLOSE
       :: else -> skip
       fi
     }
  :: DIES
  fi;
#else
  /* store.ts publishNew: the record is written to a private file in tmp/ (store.temp.created,
   * store.publish.after-temp-write; nobody else looks there), then link(tmp, locks/NAME.json),
   * which fails with EEXIST if the name exists (store.publish.after-link); close */
  if
  :: atomic {
       if
       :: lockf == 0 -> publishRecord(); out = ACQUIRED
       :: else -> out = HELD
       fi;
       if
       :: myseq == 0 -> ACQ_CLOSE
       :: else -> skip
       fi
     }
  :: DIES
  fi;
#endif
  /* acquire.published; queue.ts leaveQueue: unlink(queue/NAME/<seq>.json) (queue.left); close */
  if
  :: myseq != 0 ->
     if
     :: atomic {
          if
          :: out == ACQUIRED -> tk[myseq] = 0; touchQueue(); myseq = 0; unqueued()
          :: else -> skip
          fi;
          ACQ_CLOSE
        }
     :: DIES
     fi
  :: else -> skip
  fi
}

/* acquire.ts tryAcquire: one attempt inside withNameMutex. */
inline tryAcquire() {
  out = ACQUIRED;                        /* until the look says otherwise */
  openMutexFile();
  if
  :: failed -> out = FAILED
  :: else ->
     if
     :: atomic {
          ACQ_FLOCK -> ACQ_TAKE;
          look();
          if
          :: out == HELD || out == QUEUED -> ACQ_CLOSE
          :: else -> skip
          fi
        }
     :: DIES
     fi;
     if
     :: out == REENTERED ->
        /* acquire.ts reenter -> store.ts replaceRecord: rename(tmp, locks/NAME.json) of the
         * same lock_id and fence with a new expiry (store.replace.*, acquire.reentered); close */
        if
        :: atomic {
             lockf = me;
             lockf_fence = fence;
             p_expired = false;
             mine = me;
             holds[me] = me;
             ACQ_CLOSE
           }
        :: DIES
        fi
     :: taking -> take()
     :: else -> skip
     fi
  fi;
  d_step { seen = 0; ahead = 0; fence = 0; replaced = false; taking = false }
}

/* release.ts release, in one step under the kernel lock (flock, read, compare, unlink, close):
 * mode "owner" (`lokt unlock NAME`) removes the record only if the caller holds it (same owner,
 * host and agent); `byId` (guard, library) only if it carries the caller's lock_id. The holder
 * has stopped acting by then. */
inline release(byId) {
  openMutexFile();
  if
  :: !failed ->
     if
     :: atomic {
          mutex == 0 ->
          holds[me] = 0;
          readRecord();
          if
#ifdef RELEASE_NO_COMPARE
          :: seen != 0 -> lockf = 0; lockf_fence = 0
#else
          :: byId && seen == mine -> lockf = 0; lockf_fence = 0               /* release.removed */
          :: !byId && seen == me && me != G -> lockf = 0; lockf_fence = 0     /* release.removed */
#endif
          :: else -> skip                /* gone, not-owner, not-found */
          fi;
          seen = 0;
          mine = 0
        }
     :: DIES
     fi
  :: else -> skip
  fi
}

/* renew.ts renew, in one step under the kernel lock: act only if the record still carries our
 * lock_id; replaceRecord renames a copy with a new expiry (and the command's child_pid) into
 * place, same lock_id and fence (store.replace.*, renew.replaced); else the hold was lost. */
inline renew(when, withChild) {
  atomic {
    when && mutex == 0 ->
    if
    :: lockf == mine ->
       if
       :: withChild -> g_child = true
       :: else -> skip
       fi
    :: else -> lost = true
    fi
  }
}

/* queue.ts joinQueue inside withNameMutex: flock; mkdir -p queue/NAME (following a link); read
 * the tickets; create the number after the last readable one with O_EXCL (skipping names that
 * exist); then write it (queue.join.written) and close. */
inline joinQueue() {
  openMutexFile();
  if
  :: !failed ->
     if
     :: atomic {
          mutex == 0 -> mutex = me;
          if
          :: qdir == ABSENT -> qdir = REAL
          :: else -> skip
          fi;
#ifdef TICKET_FIRST_FREE
          s = 1;
#else
          s = MAXSEQ;
          do
          :: s > 0 && (tk[s] == 0 || tk[s] == EMPTY) -> s--
          :: else -> break
          od;
          s++;
#endif
          do
          :: s <= MAXSEQ && tk[s] != 0 -> s++
          :: else -> break
          od;
          assert(s <= MAXSEQ);
          tk[s] = EMPTY;
          touchQueue()
        }
     :: DIES
     fi;
     if
     :: atomic { tk[s] = me; myseq = s; queued(); s = 0; assert(mutex == me); mutex = 0 }
     :: DIES
     fi
  :: else -> skip
  fi
}

/* ------------------------------------------------------------------ actors */

/* `lokt lock NAME --ttl D` by an agent whose process the record names; it may lock again
 * (re-entry), then `lokt unlock NAME`, or it goes away without unlocking. */
proctype Plain(byte me) {
  LOCALS;
  tryAcquire();
  if
  :: out == ACQUIRED ->
     if
     :: tryAcquire();                    /* lokt lock NAME again */
        if
        :: out == ACQUIRED || out == REENTERED -> skip
        :: else -> goto gone             /* held by another: it learns it lost */
        fi
     :: skip
     fi;
     if
     :: release(false)                   /* lokt unlock NAME */
     :: skip                             /* goes away without unlocking */
     fi
  :: else -> skip
  fi;
gone:
  skip;
  d_step { alive[me] = false; holds[me] = 0; p_expired = false; mine = 0; out = 0 };
dead:
  skip
}

/* `lokt guard NAME -- CMD`: acquire, start the command with LOKT_LOCK_ID, record it, check and
 * renew while it runs, release by lock_id when it ends (guard/supervise.ts superviseGuard). */
proctype Guard(byte me) {
  LOCALS;
  tryAcquire();
  if
  :: out == ACQUIRED ->
     if                                  /* deps.spawn: the command runs with LOKT_LOCK_ID */
     :: d_step { alive[C] = true; holds[C] = holds[me] }   /* guard.spawned; the command
                                                              believes what the guard does */
     :: DIES
     fi;
     if
     :: renew(true, true)                /* LeaseKeeper.start: record child_pid */
     :: DIES
     fi;
     do
     :: lost -> break
     :: !lost && !alive[C] -> break      /* child.status: the command ended */
     :: atomic {                         /* LeaseKeeper #check: a read without the kernel lock */
          !lost && alive[C] -> readRecord(); lost = (seen != mine); seen = 0
        }
     :: renew(!lost && alive[C], false)  /* LeaseKeeper #renew at TTL/2 */
     :: DIES
     od;
     if
     :: lost -> skip                     /* #lost: stop the command (TERM, KILL), no release */
     :: else -> release(true)            /* release by lock_id */
     fi
  :: else -> skip
  fi;
  d_step { alive[me] = false; holds[me] = 0; mine = 0; lost = false; out = 0 };
dead:
  skip
}

/* The guarded command: it acts under the lock from its start until it exits, is stopped after
 * its guard lost the lock, or is killed. */
proctype Command(byte me) {
  LOCALS;
end_notstarted:
  if
  :: atomic { alive[me] -> alive[me] = false; holds[me] = 0; g_child = false }
  :: DIES
  fi;
dead:
  skip
}

/* `lokt lock NAME --wait [--timeout D]` (wait.ts acquireWaiting): a first attempt, then a ticket,
 * then an attempt after every wake-up, until acquired or timed out; then it holds and unlocks. */
proctype Waiter(byte me) {
  LOCALS;
#ifdef INTRUDER
  atomic {                               /* Deno.mkdirSync(queue/NAME, recursive) */
    if
    :: qdir == ABSENT -> qdir = REAL
    :: else -> skip
    fi
  };
#endif
  do
  :: tryAcquire();
     if
     :: out == ACQUIRED || out == REENTERED -> break
     :: out == FAILED -> goto gone
     :: else -> out = 0
     fi;
     if
     :: myseq != 0 ->                    /* timed out (or interrupted): finally, leaveQueue,
                                            without the kernel lock (queue.left) */
        if
        :: atomic { tk[myseq] = 0; touchQueue(); myseq = 0; unqueued() }
        :: DIES
        fi;
        goto gone
     :: skip
     fi;
     if
     :: myseq == 0 -> joinQueue(); if :: failed -> goto gone :: else -> skip fi
     :: else -> skip
     fi;
     /* beat: utime(queue/NAME/<seq>.json) after the wait; the ticket is still there */
     if
     :: atomic { assert(tk[myseq] == me); stalled[me] = false; touchQueue() }
     :: DIES
     fi
  od;
  release(false);                        /* holds, then `lokt unlock NAME` */
gone:
  skip;
  atomic { alive[me] = false; holds[me] = 0; stalled[me] = false; ever_stalled[me] = false;
           unqueued(); mine = 0; myseq = 0; out = 0 };
dead:
  skip
}

/* `lokt unlock NAME --break-stale` or `lokt unlock NAME --force` (release.ts releaseRecord), in
 * one step under the kernel lock. --force ends the hold it removes: its holders learn it on their
 * next look (a guard within a second), and fences guard the resource meanwhile. */
proctype Breaker(byte me) {
  LOCALS;
  openMutexFile();
  if
  :: !failed ->
     if
     :: atomic {                         /* --force: removes what is there (force-break) */
          mutex == 0 ->
          readRecord();
          if
          :: seen != 0 ->
             lockf = 0;
             lockf_fence = 0;
             if
             :: IS_REC(seen) && holds[seen] == seen -> holds[seen] = 0
             :: else -> skip
             fi;
             if
             :: seen == G && holds[C] == G -> holds[C] = 0
             :: else -> skip
             fi
          :: else -> skip
          fi;
          seen = 0
        }
     :: atomic {                         /* --break-stale: removes a stale record (stale-break) */
          mutex == 0 ->
          readRecord();
          if
          :: IS_REC(seen) && STALE(seen) -> lockf = 0; lockf_fence = 0
          :: seen == PARTIAL || seen == LINKED -> lockf = 0             /* abandoned */
          :: else -> skip                                                /* not-stale */
          fi;
          seen = 0
        }
     :: DIES
     fi
  :: else -> skip
  fi;
  d_step { alive[me] = false; failed = false };
dead:
  skip
}

/* LIVENESS: once every other process is gone, a plain `lokt lock NAME`, retried. */
proctype Rescuer(byte me) {
  LOCALS;
end_wait:
  ALL_DEAD;
  do
  :: tryAcquire();
     if
     :: out == ACQUIRED -> rescued = true; break
     :: else -> skip
     fi
  od;
dead:
  skip
}

/* ------------------------------------------------------------------ the environment */

/* Time: P's TTL runs out; a queued waiter stops beating (suspended, or starved of CPU). */
active proctype Clock() {
end_clock:
  do
  :: atomic { alive[P] && lockf == P && !p_expired -> p_expired = true }
  :: atomic { alive[W0] && wseq[W0] != 0 && !stalled[W0] ->
              stalled[W0] = true; ever_stalled[W0] = true }
#if NW >= 2
  :: atomic { alive[W0 + 1] && wseq[W0 + 1] != 0 && !stalled[W0 + 1] ->
              stalled[W0 + 1] = true; ever_stalled[W0 + 1] = true }
#endif
#if NW >= 3
  :: atomic { alive[W0 + 2] && wseq[W0 + 2] != 0 && !stalled[W0 + 2] ->
              stalled[W0 + 2] = true; ever_stalled[W0 + 2] = true }
#endif
  od
}

#ifdef INTRUDER
/* Someone outside the protocol plants a symbolic link inside the root, once, at any moment when
 * the path is free: at locks/NAME.json, and (the gaps) at fences/NAME or queue/NAME. A link in
 * place of a whole directory of the root (locks/, fences/, queue/) is a choice of layout and is
 * not planted. */
proctype Intruder(byte what) {
end_plant:
  if
  :: atomic { what == 1 && lockf == 0 -> lockf = LINKED }           /* ln -s /x locks/NAME.json */
  :: atomic { what == 2 && fence_de == ABSENT -> fence_de = LINK }  /* ln -s /x fences/NAME */
  :: atomic { what == 3 && qdir == ABSENT -> qdir = LINK }          /* ln -s /dir queue/NAME */
  :: skip
  fi
}
#endif

init {
  atomic {
#ifdef INTRUDER
    if
    :: fence_de = LINK                   /* a link at fences/NAME before anyone looks */
    :: skip
    fi;
    run Intruder(1);
#ifdef GAP_FENCE_RACE
    run Intruder(2);
#endif
#ifdef GAP_QUEUE_LINK
    run Intruder(3);
#endif
#endif
    alive[P] = true;
    run Plain(P);
#if HAS_GUARD
    alive[G] = true;
    run Guard(G);
    run Command(C);
#endif
#if HAS_BREAKER
    alive[B] = true;
    run Breaker(B);
#endif
    alive[W0] = true;
    run Waiter(W0);
#if NW >= 2
    alive[W0 + 1] = true;
    run Waiter(W0 + 1);
#endif
#if NW >= 3
    alive[W0 + 2] = true;
    run Waiter(W0 + 2);
#endif
#ifdef LIVENESS
    run Rescuer(RS);
#endif
  }
}
