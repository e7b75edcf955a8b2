"""Planning: choose the order of the statements so that the lumps stay small (SPEC section 4).

Every topological order of the SSA statements computes the same values, but each has its
own live-width profile and so its own lumps. :func:`schedule` returns the order that
minimises the largest lump k, then the sum of k^3 over the lumps, and keeps the source
order as the tie-break (among equally good orders, the one whose sequence of source
positions is lexicographically smallest), so the generated code still reads like the
source. Widths and lumps are exactly those of :func:`graph.build_graph` and
:func:`lumps.lumpify`; :class:`_Dag` recomputes them with integers only (no symbolic
partials), and the tests check that the two agree.

How the order is found:

1. *Exact search* for programs of at most ``EXACT_MAX`` active steps: a dynamic program
   over states (steps scheduled, survivors of the current lump's entry live set). The live
   set depends only on the scheduled set, so the k of a lump depends only on the states at
   its two cuts. A first pass finds the least largest k, a second the least sum of k^3
   under that bound, and the order is read off smallest source position first.
2. Otherwise a *list scheduler over trees*. A tree is a statement with the single-use
   temporaries that feed it (one source expression); run contiguously, it changes the width
   by 1 - (operands it kills). At width n it takes a ready tree that kills exactly one
   operand (an equasive step: a lump with k = 1), smallest source position first; for a
   program that is equasive step by step in some order this recovers k = 1 everywhere
   (taking any ready killer keeps such an order available). When there is none it must
   open a lump: from each ready tree it simulates the lump to its end (run the tree, then
   the trees that kill the new values it leaves alive, fewest readers left first, until
   the width is back at n) and runs the one with the least k. Each tree's simulated lump is
   cached until a value it read changes, so the whole pass stays near-linear.
3. *Local improvement*: the steps between two cuts of an order can be permuted without
   touching the rest, so the exact search is run on every region between two points that
   every order passes at width n (found with descendant bitsets, for programs of at most
   ``FORCED_MAX`` steps) of at most ``REGION_MAX`` steps (these regions are then optimal;
   longer ones, up to 4 REGION_MAX steps, when the search needs few states), and on
   windows of consecutive lumps of at most ``WINDOW`` steps, those with a lump k >= 2
   first, within a budget of search states that grows with the program (a work bound,
   not a time limit, so the result is deterministic).
4. The source order is kept unless the result is strictly better; a program of more than
   ``KEEP_EQUASIVE_ABOVE`` steps whose source order already has k = 1 everywhere keeps it
   without searching (only merges of k = 1 lumps could follow, at a cost of seconds); one
   whose source order has no lump above ``KEEP_SMALL_LUMPS`` only gets the local
   improvement of its source order: the list scheduler, greedy, merges such lumps into
   larger ones (k = 13 from k = 2 on 2,000 tuple updates) at 200 us a step.

Passive statements never change a width; each is placed right before its first user.
Programs the inverse modes cannot handle (m != n, a width below n...) keep source order.
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass

from ..ir import Program, Stmt, Value

EXACT_MAX = 16           # whole programs with at most this many active steps: exact search
REGION_MAX = 14          # regions between forced cuts up to this many steps: exact search
WINDOW = 12              # local improvement: windows of consecutive lumps up to this many steps
STATE_LIMIT = 250_000    # states one exact search may visit before it gives up
WIDE_LIMIT = 2_000       # ... on a forced region of REGION_MAX to 4 REGION_MAX steps
POLISH_LIMIT = 300_000   # states all local improvement may visit: 20,000 + 4 per step, at most this
FORCED_MAX = 5_000       # forced cuts need N^2 bits of descendant sets: skipped above this
LOOKAHEAD_VALUES = 16    # live values whose lump the list scheduler simulates (fallback)
LOOKAHEAD_TREES = 32     # largest lump (in trees) it simulates
KEEP_EQUASIVE_ABOVE = 2_000  # larger programs already at k = 1 everywhere keep source order
KEEP_SMALL_LUMPS = 2         # ... and those at k <= 2 only polish it (no list scheduling)


def schedule(program: Program) -> list[Stmt]:
    """A topological order of all of ``program.body``: least largest lump k, then least
    sum of k^3, then closest to source order (see the module docstring)."""
    dag = _Dag.of(program)
    if dag is None:
        return list(program.body)
    return dag.statements(dag.best_order())


@dataclass
class _Profile:
    """Widths and lumps of one order of the active steps (as graph/lumps compute them)."""
    n: int
    widths: list[int]            # live width at points 0..S
    cuts: list[int]              # points where the width is n
    ks: list[int]                # k of each lump, first to last

    @property
    def valid(self) -> bool:
        """Width n at entry and exit and never below n (check_invertible's condition)."""
        return self.widths[0] == self.widths[-1] == self.n and min(self.widths) >= self.n

    @property
    def cost(self) -> tuple[int, int]:
        """(largest k, sum of k^3): smaller is better."""
        return max(self.ks, default=0), sum(k ** 3 for k in self.ks)


class _TooBig(Exception):
    """An exact search ran out of its state budget."""


class _Dag:
    """The active steps as integers: step i is the i-th active statement in source order;
    values are numbered active parameters first (0..P-1), then step i's result is P + i."""

    def __init__(self, program: Program):
        self.program = program
        self.n = len(program.wrt)
        self.steps = [s for s in program.body if s.active]
        params = [p for p in program.params if p.active]
        ids: dict[Value, int] = {p: k for k, p in enumerate(params)}
        self.P = P = len(params)
        for i, s in enumerate(self.steps):
            ids[s.target] = P + i
        self.N = N = len(self.steps)
        self.V = V = P + N
        self.args = [tuple(ids[a] for a in s.active_args()) for s in self.steps]
        self.users: list[list[int]] = [[] for _ in range(V)]
        for i, a in enumerate(self.args):
            for v in a:
                self.users[v].append(i)
        self.out = [False] * V
        for o in program.outputs:
            if isinstance(o, Value) and o.active:
                self.out[ids[o]] = True
        self.preds = [[v - P for v in a if v >= P] for a in self.args]
        self.budget = min(POLISH_LIMIT, 20_000 + 4 * N)

    @classmethod
    def of(cls, program: Program) -> "_Dag | None":
        """The DAG of ``program``, or None when check_invertible would refuse it."""
        outs = program.outputs
        if len(outs) != len(program.wrt) or not all(p.active for p in program.wrt):
            return None
        if not all(isinstance(o, Value) and o.active for o in outs) or len(set(map(id, outs))) != len(outs):
            return None
        dag = cls(program)
        if not dag.profile(list(range(dag.N))).valid:
            return None
        return dag

    # ---- widths and lumps ---------------------------------------------------------------
    def profile(self, order: list[int]) -> _Profile:
        """Widths, cuts and lump sizes of ``order`` (step indices), as build_graph + lumpify."""
        P, S, n = self.P, len(order), self.n
        born = [0] * self.V
        end = [0] * self.V
        for p, i in enumerate(order, start=1):
            born[P + i] = end[P + i] = p
        for p, i in enumerate(order, start=1):
            for v in self.args[i]:
                if end[v] < p - 1:
                    end[v] = p - 1
        for v in range(self.V):
            if self.out[v]:
                end[v] = S
        diff = [0] * (S + 2)
        for v in range(self.V):
            diff[born[v]] += 1
            diff[end[v] + 1] -= 1
        widths, running = [], 0
        for p in range(S + 1):
            running += diff[p]
            widths.append(running)
        cuts = [p for p, w in enumerate(widths) if w == n]
        ks = [0] * len(cuts)
        if cuts and cuts[0] == 0 and cuts[-1] == S:
            lump_of, c = [0] * (S + 1), 0
            for p in range(S + 1):
                if c + 1 < len(cuts) and cuts[c + 1] <= p:
                    c += 1
                lump_of[p] = c
            for v in range(self.V):        # killed in the lump holding its last use
                if end[v] < S and born[v] <= cuts[lump_of[end[v]]]:
                    ks[lump_of[end[v]]] += 1
        return _Profile(n, widths, cuts, ks[:-1])

    # ---- the schedule ---------------------------------------------------------------------
    def best_order(self) -> list[int]:
        source = list(range(self.N))
        if self.N > KEEP_EQUASIVE_ABOVE:
            start = self.profile(source)
            if start.valid and start.cost[0] == 1:
                # Already equasive step by step: only merging k = 1 lumps (a smaller sum
                # of k^3, no cheaper code) could change, and that costs seconds here.
                return source
            if start.valid and start.cost[0] <= KEEP_SMALL_LUMPS:
                # Lumps of k = 2 at most (tuple updates, 2 x 2 rotations): the greedy list
                # scheduler opens lumps of k >= 2 and merges neighbours (k = 13 on 2,000
                # tuple updates, in 2.5 s); polishing the source order is as good and 20x
                # cheaper.
                best = self.improve(source)
                return best if self.profile(best).cost < start.cost else source
        best = None
        if self.N <= EXACT_MAX:
            found = self.exact(source, lambda v: self.out[v], STATE_LIMIT)
            if found is not None:
                best = found[2]
        if best is None:
            best = self.list_schedule()
            if not self.profile(best).valid:    # only when J is singular everywhere
                best = source
            best = self.improve(best)
        if self.profile(best).cost < self.profile(source).cost:
            return best
        return source

    def statements(self, order: list[int]) -> list[Stmt]:
        """All statements: the active ones in ``order``, each passive one right before its
        first user (the source order itself when the active steps keep their order)."""
        body = self.program.body
        if order == list(range(self.N)):
            return list(body)
        position = {id(s): k for k, s in enumerate(body)}
        maker = {id(s.target): s for s in body if not s.active}
        placed: set[int] = set()
        result: list[Stmt] = []
        for i in order:
            stmt = self.steps[i]
            needed, stack = [], [stmt]
            while stack:
                for a in stack.pop().args:
                    p = maker.get(id(a)) if isinstance(a, Value) else None
                    if p is not None and id(p) not in placed:
                        placed.add(id(p))
                        needed.append(p)
                        stack.append(p)
            result += sorted(needed, key=lambda s: position[id(s)])
            result.append(stmt)
        rest = [s for s in body if not s.active and id(s) not in placed]
        return rest + result

    # ---- 1. exact search ------------------------------------------------------------------
    def exact(self, region: list[int], after, limit: int):
        """Best order of the steps ``region``, which run between two cuts; ``after(v)`` says
        whether value v is still needed after the region. Returns (largest k, sum of k^3,
        order), or None when more than ``limit`` states would be needed."""
        steps = sorted(region)
        r, P = len(steps), self.P
        local = {s: j for j, s in enumerate(steps)}
        vbit: dict[int, int] = {}
        old = 0
        for s in steps:
            for v in self.args[s]:
                if v not in vbit and (v < P or v - P not in local):
                    vbit[v] = 1 << len(vbit)
                    old |= vbit[v]
        for s in steps:
            vbit[P + s] = 1 << len(vbit)
        users = dict.fromkeys(vbit, 0)
        for j, s in enumerate(steps):
            for v in self.args[s]:
                users[v] |= 1 << j
        kills = [[(vbit[v], users[v]) for v in self.args[s] if not after(v)] for s in steps]
        born = [vbit[P + s] for s in steps]
        pred = [sum(1 << local[q] for q in self.preds[s] if q in local) for s in steps]
        n = old.bit_count()               # the width at a cut, counting the values read here
        full = (1 << r) - 1
        live = {0: old}
        moves_of: dict[int, list] = {}
        states = [0]

        def moves(D):
            found = moves_of.get(D)
            if found is None:
                found = []
                for j in range(r):
                    if not D >> j & 1 and not pred[j] & ~D:
                        D2 = D | 1 << j
                        L2 = live.get(D2)
                        if L2 is None:
                            L2 = live[D] | born[j]
                            for b, u in kills[j]:
                                if not u & ~D2:
                                    L2 &= ~b
                            live[D2] = L2
                        w = L2.bit_count()
                        if w > n and D2 != full or w == n:     # never below n; end at a cut
                            found.append((j, D2, L2, w == n))
                moves_of[D] = found
                tick()
            return found

        def tick():
            states[0] += 1
            if states[0] > limit:
                raise _TooBig

        memo_max: dict[tuple[int, int], int] = {}

        def least_max(D, O):
            if D == full:
                return 0
            key = (D, O)
            if key in memo_max:
                return memo_max[key]
            best = r + n + 1
            for _, D2, L2, cut in moves(D):
                O2 = O & L2
                if cut:
                    k = n - O2.bit_count()
                    if k < best:
                        best = min(best, max(k, least_max(D2, L2)))
                else:
                    best = min(best, least_max(D2, O2))
            memo_max[key] = best
            tick()
            return best

        memo_sum: dict[tuple[int, int], float] = {}

        def least_sum(D, O, K):
            if D == full:
                return 0
            key = (D, O)
            if key in memo_sum:
                return memo_sum[key]
            best = float("inf")
            for _, D2, L2, cut in moves(D):
                O2 = O & L2
                if cut:
                    k = n - O2.bit_count()
                    if k <= K:
                        best = min(best, k ** 3 + least_sum(D2, L2, K))
                else:
                    best = min(best, least_sum(D2, O2, K))
            memo_sum[key] = best
            tick()
            return best

        try:
            K = least_max(0, old)
            total = least_sum(0, old, K)
            if total == float("inf"):
                return None
            order, D, O, left = [], 0, old, total
            while D != full:
                for j, D2, L2, cut in moves(D):
                    O2 = O & L2
                    if cut:
                        k = n - O2.bit_count()
                        if k <= K and k ** 3 + least_sum(D2, L2, K) == left:
                            D, O, left = D2, L2, left - k ** 3
                            break
                    elif least_sum(D2, O2, K) == left:
                        D, O = D2, O2
                        break
                else:
                    raise AssertionError("exact search lost its optimum")
                order.append(steps[j])
        except _TooBig:
            return None
        finally:
            self.budget -= states[0]
            # the searches call themselves through their cells (a cycle that would keep the
            # memo tables until a collection, and the collector is paused): free them now
            moves = tick = least_max = least_sum = None
        return K, total, order

    # ---- 2. list scheduling over trees ----------------------------------------------------
    def list_schedule(self) -> list[int]:
        N, P, V, args, out = self.N, self.P, self.V, self.args, self.out
        # trees: a temporary with one user joins its user's tree (one source expression)
        parent = [-1] * N
        for i in range(N):
            v = P + i
            if not out[v] and len(self.users[v]) == 1 and self.steps[i].target.var is None:
                parent[i] = self.users[v][0]
        root = list(range(N))
        for i in reversed(range(N)):            # a user comes after its operand
            if parent[i] >= 0:
                root[i] = root[parent[i]]
        tid = {}
        for i in range(N):
            if parent[i] < 0:
                tid[i] = len(tid)
        T = len(tid)
        tree_of = [tid[root[i]] for i in range(N)]
        members: list[list[int]] = [[] for _ in range(T)]
        for i in range(N):
            members[tree_of[i]].append(i)
        ext: list[list[int]] = [[] for _ in range(T)]   # values a tree reads from outside
        for t in range(T):
            seen = set()
            for i in members[t]:
                for v in args[i]:
                    if v not in seen and (v < P or tree_of[v - P] != t):
                        seen.add(v)
                        ext[t].append(v)
        readers: list[list[int]] = [[] for _ in range(V)]
        for t in range(T):
            for v in ext[t]:
                readers[v].append(t)
        tpreds = [[tree_of[v - P] for v in ext[t] if v >= P] for t in range(T)]
        value_of = [P + members[t][-1] for t in range(T)]    # the tree's result (its root)

        rem = [len(readers[v]) for v in range(V)]             # readers not yet scheduled
        indeg = [len(tpreds[t]) for t in range(T)]
        done = [False] * T
        kills = [0] * T                                       # operands a tree would kill now
        BIG = 1 << 60
        born = [BIG] * V                                      # lump in which a value was made
        for v in range(P):
            born[v] = 0
        buckets: list[list[tuple[int, int]]] = [[] for _ in range(max(map(len, ext), default=0) + 2)]
        by_rem: list[tuple[int, int]] = []
        gap = killed_old = 0            # width - n, and old values killed, in the current lump
        lump = 1
        order: list[int] = []
        fresh: list[int] = []                                 # values made in the current lump
        ready0: set[int] = set()                              # ready trees that kill nothing
        cache: dict[int, tuple | None] = {}                   # opening(): lump of a ready tree
        watch: dict[int, list[int]] = {}                      # value -> cached trees that read it

        def pending(v):
            """Unscheduled readers of v (compacting the list as a side effect)."""
            left = [t for t in readers[v] if not done[t]]
            readers[v] = left
            return left

        for v in range(V):
            if rem[v] == 1 and not out[v]:
                kills[readers[v][0]] += 1
        for v in range(P):
            if rem[v] and not out[v]:
                heapq.heappush(by_rem, (rem[v], v))
        for t in range(T):
            if indeg[t] == 0:
                heapq.heappush(buckets[kills[t]], (t, kills[t]))
                if not kills[t]:
                    ready0.add(t)

        def run(t):
            nonlocal gap, killed_old, lump
            done[t] = True
            ready0.discard(t)
            order.extend(members[t])
            for v in ext[t]:
                for r in watch.pop(v, ()):
                    cache.pop(r, None)
                rem[v] -= 1
                if rem[v] == 0 and not out[v]:
                    gap -= 1
                    killed_old += born[v] < lump
                elif rem[v] == 1 and not out[v]:
                    (u,) = pending(v)
                    kills[u] += 1
                    ready0.discard(u)
                    if indeg[u] == 0:
                        heapq.heappush(buckets[kills[u]], (u, kills[u]))
                if rem[v] and not out[v]:
                    heapq.heappush(by_rem, (rem[v], v))
            w = value_of[t]
            born[w] = lump
            fresh.append(w)
            if rem[w] and not out[w]:
                heapq.heappush(by_rem, (rem[w], w))
            for s in readers[w]:
                indeg[s] -= 1
                if indeg[s] == 0:
                    heapq.heappush(buckets[kills[s]], (s, kills[s]))
                    if not kills[s]:
                        ready0.add(s)
            gap += 1
            if gap <= 0:
                gap = killed_old = 0
                lump += 1
                fresh.clear()

        def top(c):
            heap = buckets[c]
            while heap and (done[heap[0][0]] or kills[heap[0][0]] != heap[0][1]):
                heapq.heappop(heap)
            return heap[0][0] if heap else None

        def lowest_rem():
            """A few live values with the fewest pending readers."""
            values = []
            while by_rem and len(values) < LOOKAHEAD_VALUES:
                r, v = heapq.heappop(by_rem)
                if rem[v] == r and v not in values:
                    values.append(v)
            for v in values:
                heapq.heappush(by_rem, (rem[v], v))
            return values

        def recent():
            """The live values made in the current lump, most recent first (a few)."""
            while fresh and not rem[fresh[-1]]:
                fresh.pop()
            return [v for v in reversed(fresh[-4 * LOOKAHEAD_VALUES:]) if rem[v]][:LOOKAHEAD_VALUES]

        def killing_set(v, taken=()):
            """The unscheduled trees (not in ``taken``) needed before v dies, in run order,
            or None if there are more than LOOKAHEAD_TREES."""
            start = [t for t in pending(v) if t not in taken]
            if len(start) > LOOKAHEAD_TREES:
                return None
            seen, stack = set(start), list(start)
            while stack:
                for p in tpreds[stack.pop()]:
                    if not done[p] and p not in seen and p not in taken:
                        seen.add(p)
                        if len(seen) > LOOKAHEAD_TREES:
                            return None
                        stack.append(p)
            return sorted(seen)

        def complete(batch, touched):
            """Simulate ``batch`` (trees in run order), then the trees that kill the new values
            it leaves alive (fewest readers left first), until the width is back at n.
            Returns (k, trees up to that cut) or None; ``touched`` gets the values read."""
            g, killed, left = gap, killed_old, {}
            plan, taken, made = [], set(), set()
            alive: list[tuple[int, int]] = []          # (readers left, value) of made values, lazily
            while batch:
                for t in batch:
                    plan.append(t)
                    taken.add(t)
                    for u in ext[t]:
                        n_left = left[u] = left.get(u, rem[u]) - 1
                        if n_left == 0:
                            if not out[u]:
                                g -= 1
                                killed += born[u] < lump
                        elif u in made and not out[u]:
                            heapq.heappush(alive, (n_left, u))
                    w = value_of[t]
                    made.add(w)
                    n_left = left.get(w, rem[w])
                    if n_left and not out[w]:
                        heapq.heappush(alive, (n_left, w))
                    g += 1
                    if g <= 0:
                        touched.update(left)
                        return (killed, plan) if g == 0 else None
                while alive and left.get(alive[0][1], rem[alive[0][1]]) != alive[0][0]:
                    heapq.heappop(alive)                 # stale: fewer readers left now, or none
                if not alive or len(plan) >= LOOKAHEAD_TREES:
                    break
                batch = killing_set(alive[0][1], taken)
                if batch is not None and len(plan) + len(batch) > LOOKAHEAD_TREES:
                    break
            touched.update(left)
            return None

        def look_ahead(values):
            """Of the lumps :func:`complete` finds from these values' killing sets, the one
            with the least k (then the fewest trees)."""
            best = None
            for v in values:
                found = complete(killing_set(v) or [], set())
                if found is not None:
                    score = (found[0], len(found[1]), found[1][0])
                    if best is None or score < best[0]:
                        best = (score, found[1])
            return best[1] if best else None

        def opening():
            """At a cut with no killer: the lump, started by a ready tree, with the least k.
            Each ready tree's lump is cached until a value it read changes."""
            best = None
            for r in ready0:
                if r not in cache:
                    touched = set()
                    cache[r] = complete([r], touched)
                    for u in touched:
                        watch.setdefault(u, []).append(r)
                found = cache[r]
                if found is not None:
                    score = (found[0], len(found[1]), r)
                    if best is None or score < best[0]:
                        best = (score, found[1])
            return best[1] if best else None

        while len(order) < N:
            closer = top(gap + 1) if gap + 1 < len(buckets) else None
            if closer is not None:                  # width back to n: the lump ends here
                run(closer)
                continue
            if gap:                                 # an open lump: kill what it made
                trees = look_ahead(recent())
            else:                                   # at a cut: the best next lump
                trees = opening() or look_ahead(lowest_rem())
            if trees:
                for t in trees:
                    run(t)
                continue
            chosen = next((t for c in range(min(gap, len(buckets) - 1), 0, -1)
                           for t in [top(c)] if t is not None), None)
            if chosen is None:
                chosen = min(t for t in (top(c) for c in range(len(buckets))) if t is not None)
            run(chosen)
        return order

    # ---- 3. local improvement ---------------------------------------------------------------
    def forced_cuts(self, order: list[int], widths: list[int]) -> list[int]:
        """Points every order passes at width n: D = the first p steps of ``order`` such that
        each later step descends from each step of D (so every order schedules D first)."""
        N = self.N
        pos = [0] * N
        for p, i in enumerate(order):
            pos[i] = p
        succs: list[list[int]] = [[] for _ in range(N)]
        for i in range(N):
            for q in self.preds[i]:
                succs[q].append(i)
        desc = [0] * N
        for i in reversed(order):
            m = 0
            for s in succs[i]:
                m |= desc[s] | 1 << pos[s]
            desc[i] = m
        full = (1 << N) - 1
        common, cuts = full, [0]
        for p in range(1, N + 1):
            common &= desc[order[p - 1]]
            later = full ^ ((1 << p) - 1)
            if not later & ~common:
                common = full
                if widths[p] == self.n:
                    cuts.append(p)
        return cuts

    def improve(self, order: list[int]) -> list[int]:
        """Exact search on small regions between cuts of ``order`` (see the module docstring)."""
        order = list(order)
        N, P, n, args, out = self.N, self.P, self.n, self.args, self.out
        pos = [0] * N
        last = [-1] * self.V             # slot of each value's last reader in ``order``
        for p, i in enumerate(order):
            pos[i] = p
            for v in args[i]:
                last[v] = p
        prof = self.profile(order)
        cuts, ks = prof.cuts, prof.ks

        def solve(a, b, limit):
            """Replace order[a:b] (two cuts) by its best order and update cuts and ks;
            False when the exact search needs more than ``limit`` states."""
            found = self.exact(order[a:b], lambda v: out[v] or last[v] >= b, limit)
            if found is None:
                return False
            order[a:b] = found[2]
            inside = set()
            for p in range(a, b):
                pos[order[p]] = p
                inside.update(v for v in args[order[p]] if last[v] < b)
            for p in range(a, b):
                for v in args[order[p]]:
                    if v in inside:
                        last[v] = p
            width, inner = n, [a]
            for p in range(a, b):
                width += 1 - sum(1 for v in args[order[p]] if last[v] == p and not out[v])
                if width == n:
                    inner.append(p + 1)
            sizes = [0] * (len(inner) - 1)
            for p in range(a, b):
                for v in args[order[p]]:
                    if last[v] == p and not out[v]:
                        e = bisect.bisect_right(inner, p) - 1
                        if (0 if v < P else pos[v - P] + 1) <= inner[e]:
                            sizes[e] += 1
            c, d = bisect.bisect_left(cuts, a), bisect.bisect_left(cuts, b)
            cuts[c:d + 1] = inner
            ks[c:d] = sizes
            return True

        solved = []
        if N <= FORCED_MAX:
            forced = self.forced_cuts(order, prof.widths)
            for a, b in zip(forced, forced[1:]):
                if 2 <= b - a <= REGION_MAX and solve(a, b, STATE_LIMIT) or \
                        REGION_MAX < b - a <= 4 * REGION_MAX and solve(a, b, min(self.budget, WIDE_LIMIT)):
                    solved.append((a, b))
        for big_first in (True, False):
            c = 0
            while c + 1 < len(cuts) and self.budget > 0:
                d = c + 1
                while d + 1 < len(cuts) and cuts[d + 1] - cuts[c] <= WINDOW:
                    d += 1
                a, b = cuts[c], cuts[d]
                if big_first:
                    wanted = max(ks[c:d]) >= 2
                else:
                    wanted = any(cuts[e + 1] - cuts[e] >= 2 for e in range(c, d))
                if 2 <= b - a <= WINDOW and wanted and not any(x <= a and b <= y for x, y in solved):
                    solve(a, b, min(self.budget, STATE_LIMIT))
                    d = bisect.bisect_left(cuts, b)
                c = max(c + 1, (c + d) // 2)
        return order
