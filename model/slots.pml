/*
 * The slot protocol of lokt (docs/protocol.md, section 8), in Promela: a name with N slots and
 * NP processes that each take a slot, hold it, release it, and may be killed at any step (the
 * kernel then drops their flock). It models what slots add to the plain lock of model/lokt.pml:
 * the count of free and stale slots read under the name's kernel lock, the takeover of a dead
 * holder's slot, and the one fence counter of the name. Queue, freezes, guards and reclaim are
 * the plain lock's and are checked there.
 *
 * Property `slots`: never two live processes that both believe they hold the same slot (with
 * slots numbered 1..N, that is also never more than N live holders); `fence`: every new hold's
 * fence is above every fence handed out before. Variant SLOTS_UNLOCKED: the same steps without
 * the kernel lock (the race tests' `slots-unlocked` sabotage), which must break `slots`.
 */

#ifndef N
#define N 2
#endif
#ifndef NP
#define NP 3
#endif
#ifndef MAXKILLS
#define MAXKILLS 1
#endif
#ifndef ROUNDS
#define ROUNDS 2
#endif

byte holder[N + 1];     /* slots/NAME/<k>.json: the process whose record it is, 0 when absent */
bool alive[NP + 1];
byte mutex;             /* who holds the flock of fences/NAME, 0: nobody */
byte counter;           /* fences/NAME */
byte given;             /* the highest fence handed out so far (the model's own bookkeeping) */
byte believes[NP + 1];  /* the slot each process thinks it holds, 0: none */
byte kills;
bool fence_ok = true;

#define TWO(p, q) (alive[p] && alive[q] && believes[p] != 0 && believes[p] == believes[q])
#if NP >= 3
#define ONE_PER_SLOT (!TWO(1, 2) && !TWO(1, 3) && !TWO(2, 3))
#else
#define ONE_PER_SLOT (!TWO(1, 2))
#endif

ltl slots { [] ONE_PER_SLOT }
ltl fence { [] fence_ok }

#ifdef SLOTS_UNLOCKED
#define LOCK   skip
#define UNLOCK skip
#else
#define LOCK   atomic { mutex == 0 -> mutex = me }
#define UNLOCK mutex = 0
#endif

/* Killed instead of making the next step: the kernel drops its flock; its record stays. Every
 * step offers it, so no step beside it may be guarded by `else` (never executable while a kill
 * is). */
#define DIES atomic { kills < MAXKILLS && alive[me] -> \
  kills++; alive[me] = false; if :: mutex == me -> mutex = 0 :: else -> skip fi }; goto dead

/* A slot the taker may use: absent, or its holder's process is dead (stale by evidence). */
#define FREE(k) (holder[k] == 0 || !alive[holder[k]])

proctype worker(byte me) {
  byte k, seen, f, round;
  do
  :: round == ROUNDS -> break
  :: else ->
    round++;
    if :: DIES :: LOCK fi;
    /* Read every slot's file and pick the lowest free or stale one (acquire.ts attempt). */
    k = 1; seen = 0;
    do
    :: k > N -> break
    :: k <= N && seen == 0 ->
       if :: DIES :: FREE(k) -> seen = k :: !FREE(k) -> skip fi; k++
    :: k <= N && seen != 0 -> break
    od;
    if
    :: DIES
    :: seen == 0 -> UNLOCK; goto next          /* every slot held: denied */
    :: seen != 0 -> skip
    fi;
    /* Take (acquire.ts take): the fence first, then remove the stale record, then link. */
    if :: DIES :: f = counter + 1 fi;
    if :: DIES :: counter = f fi;
    if :: DIES :: holder[seen] != 0 -> holder[seen] = 0 :: holder[seen] == 0 -> skip fi;
    if
    :: DIES
    :: atomic { holder[seen] == 0 -> holder[seen] = me;
         if :: f <= given -> fence_ok = false :: else -> given = f fi; believes[me] = seen }
    :: atomic { holder[seen] != 0 -> skip }  /* the link failed: another record is there */
    fi;
    if :: DIES :: UNLOCK fi;
    if :: believes[me] == 0 -> goto next :: else -> skip fi;
    /* Hold, then release by lock_id (release.ts): remove only a record that is still ours. */
    if :: DIES :: LOCK fi;
    if
    :: DIES
    :: atomic {
         if :: holder[believes[me]] == me -> holder[believes[me]] = 0 :: else -> skip fi;
         believes[me] = 0
       }
    fi;
    if :: DIES :: UNLOCK fi;
next:
    skip
  od;
dead:
  skip
}

init {
  byte p = 1;
  atomic {
    do
    :: p > NP -> break
    :: else -> alive[p] = true; run worker(p); p++
    od
  }
}
