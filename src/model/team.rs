//! A team of threads that runs one short forward pass together, in lock-step phases split by a
//! spinning barrier.
//!
//! Why not rayon for a short query: a 15-token pass is ~60 parallel steps of 10–40 µs each. Under
//! rayon every step is a job handed to a worker that is yielding or asleep, found by stealing and
//! waited for; a profile put ~20% of each worker's time in yield / sleep / wake. Here the caller and
//! `size − 1` helper threads enter the pass together, each takes its share of every step
//! ([`Member::share`]) and meets the others at [`Member::sync`], a spin on one cache line. Helpers
//! spin briefly after a pass (back-to-back queries) and then sleep on a condition variable, so an
//! idle process burns no CPU.
//!
//! One pass at a time: a caller that finds the team busy gets `None` and runs its own way.

use std::cell::UnsafeCell;
use std::ops::Range;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a helper keeps spinning for the next pass before it sleeps: long enough to cover the
/// gap between back-to-back queries (tokenising, pooling), short enough to be invisible when idle.
const IDLE_SPIN: Duration = Duration::from_micros(200);

/// Spins at a barrier before each `yield_now`: a phase lasts microseconds, but with more runnable
/// threads than cores a waiting member must let the one it waits for run.
const SPINS_BEFORE_YIELD: u32 = 1 << 14;

/// One thread's view of a pass: its index, the team's size and the barrier.
pub(crate) struct Member<'a> {
    index: usize,
    size: usize,
    barrier: &'a Barrier,
}

impl Member<'_> {
    /// 0 for the caller, 1.. for the helpers.
    #[cfg(test)]
    pub fn index(&self) -> usize {
        self.index
    }

    /// This member's contiguous share of `0..n` (the shares cover it once, in order).
    pub fn share(&self, n: usize) -> Range<usize> {
        let per = n.div_ceil(self.size);
        (self.index * per).min(n)..((self.index + 1) * per).min(n)
    }

    /// Whether item `i` of a round-robin split (small, uneven items such as attention heads) is
    /// this member's.
    pub fn owns(&self, i: usize) -> bool {
        i % self.size == self.index
    }

    /// Waits until every member has reached this point: what any of them wrote before is then
    /// visible to all.
    pub fn sync(&self) {
        self.barrier.wait();
    }
}

/// A reusable spinning barrier. Poisoned when a member panics, so that the others stop waiting and
/// panic too instead of spinning forever.
struct Barrier {
    size: usize,
    arrived: AtomicUsize,
    generation: AtomicUsize,
    poisoned: AtomicBool,
}

impl Barrier {
    fn new(size: usize) -> Barrier {
        Barrier {
            size,
            arrived: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
            poisoned: AtomicBool::new(false),
        }
    }

    fn wait(&self) {
        let generation = self.generation.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.size {
            // The last to arrive: nobody can pass (or arrive again) until the generation moves.
            self.arrived.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
        } else {
            spin_until(|| {
                self.generation.load(Ordering::Acquire) != generation
                    || self.poisoned.load(Ordering::Acquire)
            });
        }
        if self.poisoned.load(Ordering::Acquire) {
            panic!("another member of the encoder's thread team panicked");
        }
    }

    fn poison(&self) {
        self.poisoned.store(true, Ordering::Release);
    }

    /// Ready for the next pass (only while no member is inside one).
    fn reset(&self) {
        self.arrived.store(0, Ordering::Relaxed);
        self.poisoned.store(false, Ordering::Relaxed);
    }
}

fn spin_until(done: impl Fn() -> bool) {
    let mut spins = 0u32;
    while !done() {
        std::hint::spin_loop();
        spins += 1;
        if spins >= SPINS_BEFORE_YIELD {
            std::thread::yield_now();
        }
    }
}

/// The pass being run: a closure borrowed from [`Team::run`]'s caller, which does not return before
/// every helper is done with it.
type Job = dyn Fn(&Member) + Sync;

struct Shared {
    size: usize,
    barrier: Barrier,
    /// Counts passes; a helper runs a pass when it sees a new value.
    epoch: AtomicUsize,
    /// Helpers done with the current pass.
    done: AtomicUsize,
    /// Whether a helper's share of the current pass panicked.
    panicked: AtomicBool,
    job: UnsafeCell<Option<*const Job>>,
    /// Helpers asleep (for the caller: notify or not) and what they sleep on.
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    wake: Condvar,
}

// SAFETY: `job` is written only by the caller holding `Team::busy`, before the epoch moves (Release)
// and read by helpers after they see it move (Acquire), and cleared after every helper is done; the
// closure it points to is `Sync`.
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

/// The caller plus `size − 1` helper threads (see the module doc).
pub(crate) struct Team {
    shared: Arc<Shared>,
    busy: Mutex<()>,
}

impl Team {
    /// A team as large as rayon's pool (`RAYON_NUM_THREADS`, else one thread per core), made on
    /// first use.
    pub fn global() -> &'static Team {
        static TEAM: OnceLock<Team> = OnceLock::new();
        TEAM.get_or_init(|| Team::new(rayon::current_num_threads().max(1)))
    }

    pub fn new(size: usize) -> Team {
        let shared = Arc::new(Shared {
            size,
            barrier: Barrier::new(size),
            epoch: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            job: UnsafeCell::new(None),
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            wake: Condvar::new(),
        });
        for index in 1..size {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("yusa-team-{index}"))
                .spawn(move || helper(&shared, index))
                .expect("spawning an encoder team thread");
        }
        Team {
            shared,
            busy: Mutex::new(()),
        }
    }

    pub fn size(&self) -> usize {
        self.shared.size
    }

    /// Runs `job` on every member (the calling thread is member 0) and returns member 0's result;
    /// `None`, without running anything, when another pass holds the team. A panic in any member
    /// is raised here after all of them have stopped.
    pub fn run<R>(&self, job: impl Fn(&Member) -> R + Sync) -> Option<R> {
        let _guard = match self.busy.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::WouldBlock) => return None,
            // A pass panicked before; the team itself was left clean (see below).
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        };
        let s = &*self.shared;
        let helpers_job = |m: &Member| {
            job(m);
        };
        let erased: *const (dyn Fn(&Member) + Sync + '_) = &helpers_job;
        // SAFETY: only the lifetime is erased. The pointer is cleared below, after every helper
        // has finished with it, so it never outlives `helpers_job`; only this thread (holding
        // `busy`) writes it.
        unsafe {
            *s.job.get() = Some(std::mem::transmute::<
                *const (dyn Fn(&Member) + Sync + '_),
                *const Job,
            >(erased));
        }
        s.done.store(0, Ordering::Relaxed);
        s.panicked.store(false, Ordering::Relaxed);
        s.epoch.fetch_add(1, Ordering::SeqCst);
        if s.sleepers.load(Ordering::SeqCst) > 0 {
            let _l = s.lock.lock().unwrap_or_else(|p| p.into_inner());
            s.wake.notify_all();
        }
        let me = Member {
            index: 0,
            size: s.size,
            barrier: &s.barrier,
        };
        let result = catch_unwind(AssertUnwindSafe(|| job(&me)));
        if result.is_err() {
            s.barrier.poison();
        }
        spin_until(|| s.done.load(Ordering::Acquire) == s.size - 1);
        // SAFETY: every helper is done with the job (counted above).
        unsafe {
            *s.job.get() = None;
        }
        let helper_panicked = s.panicked.load(Ordering::Acquire);
        s.barrier.reset();
        match result {
            Err(p) => resume_unwind(p),
            Ok(_) if helper_panicked => panic!("a helper of the encoder's thread team panicked"),
            Ok(r) => Some(r),
        }
    }
}

fn helper(s: &Shared, index: usize) {
    let mut seen = 0;
    loop {
        seen = next_epoch(s, seen);
        // SAFETY: the caller set the job before moving the epoch (Acquire in `next_epoch`) and
        // keeps it alive until this helper counts itself done.
        let job = unsafe { (*s.job.get()).expect("a job for the new pass") };
        let me = Member {
            index,
            size: s.size,
            barrier: &s.barrier,
        };
        // SAFETY: see above: the closure outlives this call.
        let ok = catch_unwind(AssertUnwindSafe(|| unsafe { (*job)(&me) })).is_ok();
        if !ok {
            s.panicked.store(true, Ordering::Release);
            s.barrier.poison();
        }
        s.done.fetch_add(1, Ordering::AcqRel);
    }
}

/// Waits for the epoch to move past `seen` (spinning for [`IDLE_SPIN`], then asleep) and returns it.
fn next_epoch(s: &Shared, seen: usize) -> usize {
    let start = Instant::now();
    let mut spins = 0u32;
    loop {
        let e = s.epoch.load(Ordering::Acquire);
        if e != seen {
            return e;
        }
        std::hint::spin_loop();
        spins += 1;
        if spins.is_multiple_of(1024) && start.elapsed() > IDLE_SPIN {
            break;
        }
    }
    let mut guard = s.lock.lock().unwrap_or_else(|p| p.into_inner());
    s.sleepers.fetch_add(1, Ordering::SeqCst);
    loop {
        let e = s.epoch.load(Ordering::SeqCst);
        if e != seen {
            s.sleepers.fetch_sub(1, Ordering::SeqCst);
            return e;
        }
        guard = s.wake.wait(guard).unwrap_or_else(|p| p.into_inner());
    }
}

/// A buffer that the members of a pass share: each writes only its own part (rows or columns,
/// fixed by [`Member::share`] / [`Member::owns`]) between two [`Member::sync`]s, and reads the
/// whole only in a phase where nobody writes it.
#[derive(Clone, Copy)]
pub(crate) struct SharedBuf {
    ptr: *mut f32,
    len: usize,
}

// SAFETY: see the type's doc: writes are disjoint within a phase, and the buffer is borrowed
// mutably by the pass for as long as any member uses it.
unsafe impl Send for SharedBuf {}
unsafe impl Sync for SharedBuf {}

impl SharedBuf {
    pub fn new(buf: &mut [f32]) -> SharedBuf {
        SharedBuf {
            ptr: buf.as_mut_ptr(),
            len: buf.len(),
        }
    }

    pub fn ptr(self) -> *mut f32 {
        self.ptr
    }

    pub fn len(self) -> usize {
        self.len
    }

    /// The whole buffer, to read.
    ///
    /// # Safety
    /// Nobody writes the buffer until the reference is dropped.
    pub unsafe fn all<'a>(self) -> &'a [f32] {
        // SAFETY: the pointer and length come from a live slice; no writer (the caller's promise).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// Elements `range`, to write.
    ///
    /// # Safety
    /// No other live reference overlaps `range` until this one is dropped.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn part<'a>(self, range: Range<usize>) -> &'a mut [f32] {
        assert!(range.start <= range.end && range.end <= self.len);
        // SAFETY: in bounds (asserted); exclusivity is the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(range.start), range.len()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_see_each_others_writes_after_sync() {
        let team = Team::new(3);
        for round in 0..200 {
            let mut buf = vec![0f32; 30];
            let shared = SharedBuf::new(&mut buf);
            let sums = team
                .run(|m| {
                    let mine = m.share(30);
                    // SAFETY: each member writes its own share.
                    unsafe { shared.part(mine.clone()) }.fill((round + m.index()) as f32);
                    m.sync();
                    // SAFETY: nobody writes in this phase.
                    let all = unsafe { shared.all() };
                    let s: f32 = all.iter().sum();
                    m.sync();
                    s
                })
                .expect("the team is free");
            let want = (0..3).map(|i| 10.0 * (round + i) as f32).sum::<f32>();
            assert_eq!(sums, want);
        }
    }

    #[test]
    fn a_panicking_member_stops_the_pass_and_the_team_still_works() {
        let team = Team::new(2);
        let r = catch_unwind(AssertUnwindSafe(|| {
            team.run(|m| {
                if m.index() == 1 {
                    panic!("boom");
                }
                m.sync();
            })
        }));
        assert!(r.is_err());
        assert_eq!(team.run(|m| m.index()), Some(0));
    }

    #[test]
    fn a_busy_team_turns_the_second_caller_away() {
        let team = Team::new(2);
        let inner = team.run(|m| {
            if m.index() == 0 {
                team.run(|_| ())
            } else {
                None
            }
        });
        assert_eq!(inner, Some(None));
    }

    #[test]
    fn a_team_of_one_runs_on_the_caller() {
        let team = Team::new(1);
        assert_eq!(team.run(|m| (m.index(), m.share(5))), Some((0, 0..5)));
    }
}
