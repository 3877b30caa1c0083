#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Run guest/bench on the patched and the base kernel; make the figures.

  bench.py --build DIR --base-kernel BZIMAGE --out DIR [--tests REGEX]
  bench.py --records OUT/bench.json --out DIR    (the table and plots again)

Both kernels boot the same initramfs (DIR's) in the same test machine as
'make check'. bench/gmem-bench prints one JSON object per measurement; this
script keeps them all (OUT/bench.json), prints a table of medians, spreads
and ratios (OUT/table.txt) and draws figures 1, 4 and 5 with gnuplot
(OUT/fig*.png). It fails only if a measurement could not be taken.
"""

import argparse
import datetime
import itertools
import json
import os
import statistics
import subprocess
import sys

import vm

BENCH = os.path.join(os.path.dirname(vm.SUITE), 'bench')
KERNELS = ('patched', 'base')


def run(args, kernel, label):
    """Boot @kernel with guest/bench; return (records, failures)."""
    opts = argparse.Namespace(build=args.build, kernel=kernel, suite=BENCH,
                              tests=args.tests, append='')
    records, failures = [], []
    for n, extra, tests in vm.boots(BENCH, args.tests):
        print(f'bench: {label} kernel, {len(tests)} figures', flush=True)
        (_, failed, _), suite = vm.check_boot(opts, n, extra, f'bench-{label}',
                                                 expected=len(tests))
        if len(suite.results) < len(tests) or any(
                status == 'fail' for _, status in suite.results):
            failures.append(f'{label}: a figure failed or did not finish')
        elif failed:
            print(f'bench: {label}: kernel reports in the log (above)', flush=True)
        for lines in suite.output.values():
            for line in lines:
                line = line[2:] if line.startswith('# ') else line
                if line.startswith('{'):
                    rec = json.loads(line)
                    rec['kernel'] = label
                    records.append(rec)
    return records, failures


def med(values):
    """(median, min, max) of @values, or None."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def fmt(m, scale=1.0, digits=1):
    if m is None:
        return 'n/a'
    return f'{m[0] * scale:.{digits}f} [{m[1] * scale:.{digits}f}-{m[2] * scale:.{digits}f}]'


def select(records, **want):
    return [r for r in records
            if all(r.get(k) == v for k, v in want.items())]


def per_page(rec, pages_key='moved'):
    return rec['ns'] / rec[pages_key] if rec.get(pages_key) else None


def paired_ratio(records, fig, num, den, key, **where):
    """Median of per-round ratios num/den: pairs measured in one round."""
    ratios = []
    for rec in select(records, fig=fig, kind=num, **where):
        other = select(records, fig=fig, kind=den, round=rec['round'], **where)
        if other and key(rec) and key(other[0]):
            ratios.append(key(rec) / key(other[0]))
    return med(ratios)


def fig_move(records):
    sizes = sorted({r['mib'] for r in select(records, fig='move')})
    rows, plot = [], []
    for mib in sizes:
        cost = {k: med([per_page(r) for r in select(records, fig='move', kind=k,
                                                       mib=mib)])
                for k in ('gmem', 'shmem', 'anon')}
        moved = min(r['moved'] / r['pages'] for r in select(records, fig='move', mib=mib))
        g_s = paired_ratio(records, 'move', 'gmem', 'shmem', per_page, mib=mib)
        g_a = paired_ratio(records, 'move', 'gmem', 'anon', per_page, mib=mib)
        rows.append(f'  {mib:>5}  {fmt(cost["gmem"], 1e-3, 2):>20}  '
                    f'{fmt(cost["shmem"], 1e-3, 2):>20}  {fmt(cost["anon"], 1e-3, 2):>20}  '
                    f'{fmt(g_s, 1, 2):>18}  {fmt(g_a, 1, 2):>18}  {moved:>6.0%}')
        plot.append((mib, cost))
    summary = {mib: paired_ratio(records, 'move', 'gmem', 'shmem', per_page, mib=mib)
               for mib in sizes}
    head = (f'  {"MiB":>5}  {"gmem us/page":>20}  {"shmem us/page":>20}  '
            f'{"anon us/page":>20}  {"gmem/shmem":>18}  {"gmem/anon":>18}  {"moved":>6}')
    return [head] + rows, plot, summary


def fig_offline_compact(records):
    rows = []
    for fig, key, what in (('offline', 'pages', 'offline'),
                           ('compact', 'moved', 'compaction')):
        cost = {k: med([per_page(r, key) for r in select(records, fig=fig, kind=k)])
                for k in ('gmem', 'shmem', 'anon')}
        pages = {k: med([r[key] for r in select(records, fig=fig, kind=k)])
                 for k in ('gmem', 'shmem', 'anon')}
        ratio = paired_ratio(records, fig, 'gmem', 'shmem', lambda r: per_page(r, key))
        rows.append(f'  {what:<11} {fmt(cost["gmem"], 1e-3, 2):>20}  '
                    f'{fmt(cost["shmem"], 1e-3, 2):>20}  {fmt(cost["anon"], 1e-3, 2):>20}  '
                    f'{fmt(ratio, 1, 2):>18}   pages moved: '
                    + ' / '.join(fmt(pages[k], 1, 0) for k in ('gmem', 'shmem', 'anon')))
    head = (f'  {"":<11} {"gmem us/page":>20}  {"shmem us/page":>20}  '
            f'{"anon us/page":>20}  {"gmem/shmem":>18}')
    return [head] + rows


def kernels_kinds(records, fig, rows, width):
    """(kernel, kind, its records) for each kernel and guest_memfd/shmem kind
    with records of @fig; a "not offered" row in @rows for the others."""
    for kernel in KERNELS:
        for kind in ('gmem', 'gmem-noflag', 'shmem'):
            recs = select(records, fig=fig, kind=kind, kernel=kernel)
            if recs:
                yield kernel, kind, recs
            else:
                rows.append(f'  {kernel:<8} {kind:<12} {"n/a (not offered)":>{width}}')


def fig_offline_share(records):
    rows = [f'  {"kernel":<8} {"memory":<12} {"offlined":>9}  {"time ms, median [min-max]":>28}'
            f'  refusals']
    names = {-16: 'EBUSY', -4: 'EINTR after 5 s (no progress)'}
    for kernel, kind, recs in kernels_kinds(records, 'offline-share', rows, 9):
        ok = sum(1 for r in recs if r['ret'] == 0)
        errs = sorted({r['ret'] for r in recs if r['ret']})
        rows.append(f'  {kernel:<8} {kind:<12} {ok:>4}/{len(recs):<4}  '
                    f'{fmt(med([r["ns"] for r in recs]), 1e-6, 0):>28}  '
                    + (', '.join(names.get(e, str(e)) for e in errs) or '-'))
    return rows


def fig_hugepages(records):
    rows = [f'  {"kernel":<8} {"memory":<12} {"2 MiB pages":>22}  {"of idle":>7}'
            f'  {"2 MiB ranges with VM pages":>28}']
    plot = []
    for kernel, kind, recs in kernels_kinds(records, 'hugepages', rows, 22):
        got = med([r['hugepages'] for r in recs])
        share = med([r['hugepages'] / r['before'] for r in recs])
        rows.append(f'  {kernel:<8} {kind:<12} {fmt(got, 1, 0):>22}  {share[0]:>7.0%}'
                    f'  {fmt(med([r["ranges"] for r in recs]), 1, 0):>15} -> '
                    f'{fmt(med([r["ranges_after"] for r in recs]), 1, 0)}')
        plot.append((f'{kind} ({kernel})', share))
    return rows, plot


def percentiles(hist, khz, ps):
    """Access time in microseconds at each percentile of @ps."""
    items = sorted((int(k), v) for k, v in hist.items())
    total = sum(v for _, v in items)
    out, seen, i = [], 0, 0
    for p in ps:
        while i < len(items) and seen + items[i][1] < p * total:
            seen += items[i][1]
            i += 1
        out.append(items[min(i, len(items) - 1)][0] / khz * 1e3)
    return out


def fig_stall(records):
    rows = [f'  {"memory":<8} {"host":<10} {"p50 us":>8} {"p99 us":>10} {"max us":>10}'
            f'  {"accesses":>10}  pages moved']
    plot, summary = [], {}
    for kind in ('gmem', 'shmem'):
        for migrate in (1, 0):
            recs = select(records, fig='stall', kind=kind, migrate=migrate)
            if not recs:
                continue
            hist = {}
            for r in recs:
                for k, v in r['hist'].items():
                    hist[k] = hist.get(k, 0) + v
            p50, p99, pmax = percentiles(hist, recs[0]['tsc_khz'], (0.5, 0.99, 1.0))
            what = 'migrating' if migrate else 'idle'
            rows.append(f'  {kind:<8} {what:<10} {p50:>8.2f} {p99:>10.1f} {pmax:>10.0f}'
                        f'  {sum(hist.values()):>10}  {sum(r["moved"] for r in recs)}')
            if migrate:
                plot.append((kind, p50, p99, pmax))
                summary[kind] = (p50, p99, pmax)
    return rows, plot, summary


def fig_convert(records):
    rows = [f'  {"beside":<10} {"to private, pages/s":>26} {"to shared, pages/s":>26}'
            f'  {"EAGAIN per call":>16}']
    for migrate in (0, 1):
        recs = select(records, fig='convert', migrate=migrate)
        if not recs:
            continue
        rate = {d: med([r['pages'] / r[f'to_{d}_ns'] * 1e9 for r in recs])
                for d in ('private', 'shared')}
        eagain = med([(r['eagain_private'] + r['eagain_shared']) / (2 * r['calls'])
                      for r in recs])
        rows.append(f'  {"migration" if migrate else "nothing":<10} '
                    f'{fmt(rate["private"], 1, 0):>26} {fmt(rate["shared"], 1, 0):>26}'
                    f'  {fmt(eagain, 1, 2):>16}')
    return rows


def fig_vcpus(records):
    rows = [f'  {"kernel":<8} {"how":<8} {"vCPUs":>5}  {"gmem us/page":>20}'
            f'  {"shmem us/page":>20}  {"gmem/shmem":>18}  {"CPU gmem/shmem":>18}'
            f'  {"vCPU writes/s gmem/shmem":>24}  {"calls > 1 g/s":>13}']
    key = 'moved'
    for kernel, how in itertools.product(KERNELS, ('move', 'compact')):
        for n in sorted({r['vcpus'] for r in select(records, fig='vcpus', how=how,
                                                     kernel=kernel)}):
            where = {'how': how, 'vcpus': n, 'kernel': kernel}
            cost = {k: med([per_page(r, key) for r in
                            select(records, fig='vcpus', kind=k, **where)])
                    for k in ('gmem', 'shmem')}
            ratio = paired_ratio(records, 'vcpus', 'gmem', 'shmem',
                                 lambda r: per_page(r, key), **where)
            # The moving thread's own CPU time (records older than it have none).
            cpu = paired_ratio(records, 'vcpus', 'gmem', 'shmem',
                               lambda r: r.get('cpu_ns', 0) / r[key] if r[key] else None,
                               **where)
            # How fast the vCPUs wrote pages meanwhile (older records: n/a).
            writes = paired_ratio(records, 'vcpus', 'gmem', 'shmem',
                                  lambda r: r.get('written', 0) / r['ns'], **where)
            # move_pages() calls that left pages behind (records without
            # "calls" are older than the count, and compaction has none).
            again = {k: sum(r.get('calls', 1) > 1 for r in
                            select(records, fig='vcpus', kind=k, **where))
                     for k in ('gmem', 'shmem')}
            rows.append(f'  {kernel:<8} {how:<8} {n:>5}  {fmt(cost["gmem"], 1e-3, 2):>20}  '
                        f'{fmt(cost["shmem"], 1e-3, 2):>20}  {fmt(ratio, 1, 2):>18}  '
                        f'{fmt(cpu, 1, 2):>18}  '
                        f'{fmt(writes, 1, 2):>24}'
                        f'  {again["gmem"]:>6} / {again["shmem"]:<4}')
    return rows


def per_page_ms(rec):
    return rec['ms'] * 1e3 / rec['pages'] if rec['pages'] else None


def fig_qemu(records):
    """Figure 8: our QEMU's VM on shmem and on migratable guest_memfd."""
    rows = [f'  {"kernel":<8} {"how":<13} {"memory":<6} {"pages":>7}  {"us per page":>22}'
            f'  {"guest stall ms":>18}  {"gmem/shmem":>18}']
    for kernel in KERNELS:
        for how in ('migratepages', 'offline'):
            where = {'fig': 'qemu', 'how': how, 'kernel': kernel}
            for kind in ('gmem', 'shmem'):
                recs = select(records, kind=kind, **where)
                if not recs:
                    rows.append(f'  {kernel:<8} {how:<13} {kind:<6} {"n/a (not offered)":>7}')
                    continue
                ratio = (paired_ratio(records, 'qemu', 'gmem', 'shmem', per_page_ms, how=how,
                                      kernel=kernel) if kind == 'gmem' else None)
                pages = med([r['pages'] for r in recs])[0]
                rows.append(f'  {kernel:<8} {how:<13} {kind:<6} {pages:>7.0f}  '
                            f'{fmt(med([per_page_ms(r) for r in recs]), 1, 2):>22}  '
                            f'{fmt(med([r["stall_ms"] for r in recs]), 1, 0):>18}  '
                            f'{fmt(ratio, 1, 2) if kind == "gmem" else "":>18}')
    return rows


def gnuplot(path, script, data):
    # gnuplot leaves an empty file behind when it has nothing to plot.
    if not data:
        print(f'bench: no plot {path}: its figure was not measured', flush=True)
        return
    try:
        subprocess.run(['gnuplot'], input=script, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f'bench: no plot {path}: {e}', flush=True)


def plots(out, move, huge, stall):
    data = '\n'.join(f'{mib} ' + ' '.join(
        f'{c[k][0] / 1e3} {c[k][1] / 1e3} {c[k][2] / 1e3}' if c[k] else 'NaN NaN NaN'
        for k in ('gmem', 'shmem', 'anon')) for mib, c in move)
    gnuplot('fig1.png', f'''
set terminal png size 800,500 noenhanced
set output "{out}/fig1.png"
set title "Figure 1: move_pages() between nodes, per 4 KiB page (median, min-max)"
set xlabel "memory size (MiB)"; set ylabel "us per page"; set logscale x 4
set key top right; set yrange [0:*]; set offsets graph 0.05, graph 0.05, 0, 0
$d << EOD
{data}
EOD
plot $d u 1:2:3:4 w yerrorlines t "guest_memfd (MIGRATABLE)", \\
     $d u 1:5:6:7 w yerrorlines t "shmem (memfd)", \\
     $d u 1:8:9:10 w yerrorlines t "anonymous"
''', data)
    data = '\n'.join(f'"{name}" {s[0] * 100}' for name, s in huge)
    gnuplot('fig4.png', f'''
set terminal png size 800,500 noenhanced
set output "{out}/fig4.png"
set title "Figure 4: 2 MiB pages allocatable on node 1 after fragmenting and compaction"
set ylabel "% of an idle node 1"; set yrange [0:110]; set style fill solid 0.6
set boxwidth 0.6; set xtics rotate by -20
$d << EOD
{data}
EOD
plot $d u 0:2:xtic(1) w boxes notitle
''', data)
    data = '\n'.join(f'{kind} {p50} {p99} {pmax}' for kind, p50, p99, pmax in stall)
    gnuplot('fig5.png', f'''
set terminal png size 800,500 noenhanced
set output "{out}/fig5.png"
set title "Figure 5: vCPU access time while the host migrates its memory"
set ylabel "us (log)"; set logscale y; set style data histograms
set style histogram clustered; set style fill solid 0.6
$d << EOD
{data}
EOD
plot $d u 2:xtic(1) t "p50", '' u 3 t "p99", '' u 4 t "max"
''', data)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--build', help='patched build (and initramfs)')
    p.add_argument('--base-kernel', help='bzImage of the base')
    p.add_argument('--records', help='a bench.json to make the figures of, no boot')
    p.add_argument('--tests', default='', help='only the entries of guest/bench matching this')
    p.add_argument('--out', required=True)
    p.add_argument('--command', default='make bench')
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)

    if args.records:
        with open(args.records) as f:
            old = json.load(f)
        records, failures = old['records'], old['failures']
        accel, qemu, date = old['machine'], old['qemu'], old['date']
        args.command = old['command']
    else:
        if not args.build or not args.base_kernel:
            p.error('--build and --base-kernel, or --records')
        if not vm.boots(BENCH, args.tests):
            p.error(f'no entry of {BENCH} matches --tests {args.tests!r}')
        args.build = os.path.abspath(args.build)
        records, failures = [], []
        for label, kernel in (('patched', None),
                              ('base', os.path.abspath(args.base_kernel))):
            recs, fails = run(args, kernel, label)
            records += recs
            failures += fails
        accel = 'KVM' if vm.kvm_works(args.build) else 'TCG'
        qemu = subprocess.run(['qemu-system-x86_64', '--version'], capture_output=True,
                              text=True).stdout.split('\n')[0]
        date = datetime.date.today().isoformat()

    move_rows, move_plot, move_ratio = fig_move(records)
    huge_rows, huge_plot = fig_hugepages(records)
    stall_rows, stall_plot, stall_sum = fig_stall(records)
    table = [
        f'gmem-migrate bench, {date}: {accel} ({qemu}), 2 vCPUs, 2 NUMA nodes;',
        f'patched 7.3.4 (VARIANT=plain) against the base; command: {args.command}',
        '',
        'Figure 1. move_pages() of every page to the other node, after the vCPU',
        'touched every page; us per 4 KiB page, median [min-max] over rounds; ratios',
        'are medians of per-round ratios (kinds measured in turn in each round).',
    ] + move_rows + [
        '',
        'Figure 2. Offlining the Movable blocks that hold 64 MiB of VM memory (us per',
        'VM page in the blocks that offlined), and compacting node 1 with the VM\'s',
        'pages put in every 2 MiB range, 16 a range, as in figure 4 (us per VM page',
        'that moved: the scan of the node is in it).',
    ] + fig_offline_compact(records) + [
        '',
        'Figure 3. Memory blocks holding 32 MiB of VM memory on node 1 (Movable or',
        'not; a Movable block that refuses while empty is taken up by a hog first):',
        'how many offline, each attempt timed, with a 5 s deadline (SIGALRM).',
    ] + fig_offline_share(records) + [
        '',
        'Figure 4. Node 1 filled with a filler, one page of it freed in every 2 MiB',
        'range, VM memory faulted into those holes, filler freed, node 1 compacted:',
        '2 MiB hugetlb pages node 1 then allocates, against an idle node 1.',
    ] + huge_rows + [
        '',
        'Figure 5. The vCPU times each access (TSC) over 16 MiB while the host',
        'move_pages() it between the nodes without pause; all rounds merged; "idle"',
        'is the same loop with no migration.',
    ] + stall_rows + [
        '',
        'Figure 6. KVM_SET_MEMORY_ATTRIBUTES2 on 64 MiB of a software-protected',
        'VM\'s guest_memfd, 2 MiB a call, alone and with move_pages() beside it.',
    ] + fig_convert(records) + [
        '',
        'Figure 7. Figures 1 and 2 again (move_pages() of 16 MiB, compaction of',
        'scattered memory) with 1, 2 and 4 vCPUs running passes over the memory',
        'while it moves, so that each KVM invalidation flushes running vCPUs;',
        'CPU: the moving thread\'s own CPU time per page, which the vCPUs\' share',
        'of the CPUs leaves out; vCPU writes/s: the pages the vCPUs wrote per',
        'second while the memory moved, gmem over shmem (how far the guest got on).',
    ] + fig_vcpus(records) + [
        '',
        'Figure 8. Our QEMU (qemu/patches) running a 256 MiB VM whose guest checks',
        'all its RAM without pause, on memory-backend-memfd (shmem) and on',
        'guest-memfd=on,guest-memfd-movable=on, in turn each round: migratepages',
        'from node 1 to node 0, then (back on node 1) offlining the Movable blocks',
        'that hold its RAM; us per page moved, and the longest stall the guest saw',
        'meanwhile.',
    ] + fig_qemu(records)
    if failures:
        table += [''] + [f'NOT MEASURED: {f}' for f in failures]

    with open(os.path.join(args.out, 'table.txt'), 'w') as f:
        f.write('\n'.join(table) + '\n')
    with open(os.path.join(args.out, 'bench.json'), 'w') as f:
        json.dump({'date': date, 'machine': accel, 'qemu': qemu,
                   'command': args.command, 'failures': failures,
                   'summary': {'move_gmem_over_shmem': move_ratio,
                               'stall_us_p50_p99_max': stall_sum},
                   'records': records}, f, indent=1)
    plots(args.out, move_plot, huge_plot, stall_plot)
    print('\n'.join(table))
    print(f'bench: {args.out}/table.txt, bench.json, fig1.png, fig4.png, fig5.png')
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
