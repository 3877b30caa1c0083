#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Boot the kernel of a build directory in the gmem-migrate test machine.

  vm.py check --build DIR   run guest/suite, print KTAP results and a summary
  vm.py shell --build DIR   a shell on the console (Ctrl-A X quits QEMU)

--suite runs another list of guest/ (make bench runs guest/bench), --kernel
boots another kernel with the same initramfs (make bench: the base), and
--base-kernel is the kernel of the suite's boots that ask for the
unpatched base (gmem.kernel=base among their kernel arguments).

The machine: two NUMA nodes with a CPU and 2 GiB each, a Movable zone
(movablecore=), a CMA area, and a virtio-mem device on node 1 whose memory
is onlined movable. The guest asks for changes to the machine (resizing
virtio-mem) over a virtio-serial port that this script serves through QMP.

Kernel messages come on ttyS0, test results as KTAP on ttyS1. A run fails on
any failed or missing test and on any kernel splat (WARNING, BUG, Oops,
lockdep, KASAN, KFENCE, ...) in the console log.
"""

import argparse
import functools
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

BOOT_TIMEOUT = 300       # seconds from start to the first KTAP line
GRACE = 60               # beyond a test's own timeout before the VM is killed

# watchdog_thresh: a soft lockup is a CPU that schedules nothing for twice
# this; TCG runs the kernel tens of times slower than hardware, so 60 s
# rather than 20 s, still well under any case's timeout.
CMDLINE = ('console=ttyS0,115200 printk.time=1 panic=-1 oops=panic '
           'movablecore=1G cma=64M@0-2G memhp_default_state=online_movable '
           'page_owner=on watchdog_thresh=30')

# Kernel reports that fail a run, matched after the printk timestamp.
SPLAT = re.compile(
    r'^(?:\[\s*\d+\.\d+\]\s*)?(?:\[\s*[CT]\d+\]\s*)?'
    r'(WARNING:|BUG:|kernel BUG at|Oops|general protection fault|'
    r'Kernel panic|UBSAN:|KASAN:|KFENCE:|INFO: task .* blocked|'
    r'rcu: INFO:|.*self-detected stall|'
    r'------------\[ cut here \]|Call Trace:)')
END_OF_REPORT = re.compile(r'---\[ end (trace|Kernel panic)')
TEST_START = re.compile(r'gmem-test: start (\S+)')
TEST_MARK = re.compile(r'gmem-test: (start|end) ')
# Lines of a failed test's output that say why: shown before its tail.
FAILURE = re.compile(r'not ok |Assertion|Expected|FAIL|terminated|[Tt]imeout|errno')
RESULT = re.compile(r'^(not ok|ok) (\d+) (\S+)(?: # (\S+)(.*))?$')
# A program's own KTAP, in its output (indented once by guest/init): its plan
# (1..0 # SKIP from ksft_exit_skip() before one), and its results. After a
# plan, ksft_exit_skip() prints one without a description: "ok 2 # SKIP why",
# numbered as the case before it.
PLAN = re.compile(r'^# 1\.\.(\d+)(?:\s+# (SKIP)\b\s*(.*))?$')
CASE = re.compile(r'^# (not ok|ok) \d+(?: (?!# )(.+?))?(?: # (SKIP)\b\s*(.*))?$')
# x86's COMMAND_LINE_SIZE, with its NUL: the guest's list of entries travels there.
COMMAND_LINE_SIZE = 2048


def qemu_argv(build, kernel, rundir, mode, append, accel):
    serial0 = 'mon:stdio' if mode == 'shell' else 'stdio'
    return [
        'qemu-system-x86_64', '-nodefaults', '-no-user-config',
        '-nographic', '-no-reboot',
        '-accel', accel, '-cpu', 'max' if accel == 'tcg' else 'host',
        '-smp', '2,sockets=2,cores=1,threads=1',
        '-m', '4G,slots=2,maxmem=8G',
        '-object', 'memory-backend-ram,id=mem0,size=2G',
        '-numa', 'node,nodeid=0,cpus=0,memdev=mem0',
        '-object', 'memory-backend-ram,id=mem1,size=2G',
        '-numa', 'node,nodeid=1,cpus=1,memdev=mem1',
        '-object', 'memory-backend-ram,id=vmemmem0,size=2G',
        '-device', 'virtio-mem-pci,id=vmem0,memdev=vmemmem0,node=1,'
                   'requested-size=512M',
        '-device', 'virtio-serial-pci',
        '-chardev', f'socket,id=host,path={rundir}/host.sock,server=on,wait=off',
        '-device', 'virtserialport,chardev=host,name=gmem.host',
        '-qmp', f'unix:{rundir}/qmp.sock,server=on,wait=off',
        '-serial', serial0,
        '-chardev', f'file,id=ktap,path={rundir}/ktap.log',
        '-serial', 'chardev:ktap',
        '-kernel', kernel,
        '-initrd', f'{build}/initramfs.cpio',
        '-append', f'{CMDLINE} gmem.mode={mode} {append}'.strip(),
    ]


def connect(path, deadline=30):
    end = time.monotonic() + deadline
    while True:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


class QMP:
    """Just enough of QMP: one command at a time, events skipped."""

    def __init__(self, path):
        self.sock = connect(path)
        self.file = self.sock.makefile('rw')
        self.lock = threading.Lock()
        self._read()                            # greeting
        self.execute('qmp_capabilities')

    def _read(self):
        while True:
            line = self.file.readline()
            if not line:
                raise EOFError('QMP closed')
            msg = json.loads(line)
            if 'event' not in msg:
                return msg

    def execute(self, cmd, **args):
        with self.lock:
            self.file.write(json.dumps({'execute': cmd, 'arguments': args}))
            self.file.write('\n')
            self.file.flush()
            msg = self._read()
        if 'error' in msg:
            raise RuntimeError(msg['error'].get('desc', str(msg['error'])))
        return msg['return']


def serve_host(path, qmp):
    """Answer the guest's requests (guest/bin/host), one line each."""
    with connect(path) as sock, sock.makefile('rw') as f:
        serve_requests(f, qmp)


def serve_requests(f, qmp):
    for line in f:
        words = line.split()
        try:
            if len(words) == 4 and words[0] == 'qom-set':
                value = int(words[3]) if words[3].isdigit() else words[3]
                qmp.execute('qom-set', path=words[1], property=words[2],
                            value=value)
                reply = 'ok'
            elif len(words) == 3 and words[0] == 'qom-get':
                reply = 'ok %s' % qmp.execute('qom-get', path=words[1],
                                              property=words[2])
            elif len(words) == 4 and words[0] == 'dimm-add':
                # A DIMM of words[2] bytes on node words[3], named words[1].
                qmp.execute('object-add', **{'qom-type': 'memory-backend-ram',
                                             'id': f'{words[1]}-mem',
                                             'size': int(words[2])})
                qmp.execute('device_add', driver='pc-dimm', id=words[1],
                            memdev=f'{words[1]}-mem', node=int(words[3]))
                reply = 'ok'
            elif len(words) == 2 and words[0] == 'dimm-del':
                # Asks the guest to eject it (ACPI): done when the guest
                # offlined and removed its memory; 'qom-get ID size' fails then.
                qmp.execute('device_del', id=words[1])
                reply = 'ok'
            else:
                reply = 'error: unknown request %r' % line.strip()
        except Exception as e:          # noqa: BLE001 - the guest must get an answer
            reply = 'error: %s: %s' % (type(e).__name__, e)
        f.write(reply + '\n')
        f.flush()


@functools.lru_cache(maxsize=None)
def kvm_works(build):
    """Can this host's /dev/kvm boot a stock guest? Some nested hosts abort
    QEMU on an MSR; a kernel with no root file system panicking is the proof
    that it got as far as mounting root."""
    if os.environ.get('GMEM_ACCEL') in ('tcg', 'kvm'):
        return os.environ['GMEM_ACCEL'] == 'kvm'
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        return False
    try:
        out = subprocess.run(
            ['qemu-system-x86_64', '-accel', 'kvm', '-cpu', 'host', '-m', '512M',
             '-nodefaults', '-nographic', '-no-reboot', '-serial', 'stdio',
             '-kernel', f'{build}/arch/x86/boot/bzImage',
             '-append', 'console=ttyS0 panic=-1'],
            capture_output=True, timeout=60, text=True, errors='replace')
    except subprocess.TimeoutExpired:
        return False
    return 'VFS: Unable to mount root' in out.stdout


def boot_kernel(args, extra):
    """The bzImage a boot with kernel arguments @extra runs."""
    if 'gmem.kernel=base' in extra.split():
        return getattr(args, 'base_kernel', None)
    return args.kernel or f'{args.build}/arch/x86/boot/bzImage'


def start(args, mode, name=None, extra=''):
    rundir = os.path.join(args.build, name or mode)
    os.makedirs(rundir, exist_ok=True)
    for name in ('host.sock', 'qmp.sock', 'ktap.log'):
        if os.path.exists(os.path.join(rundir, name)):
            os.unlink(os.path.join(rundir, name))
    accel = 'kvm' if kvm_works(args.build) else 'tcg'
    append = f'{extra} {args.append}'
    if mode == 'check' and args.suite != SUITE:
        append += ' gmem.suite=' + os.path.basename(args.suite)
    kernel = boot_kernel(args, extra)
    argv = qemu_argv(args.build, kernel, rundir, mode, append.strip(), accel)
    # The kernel would cut a longer one short, and with it the guest's list
    # of entries (gmem.lines=) or APPEND's last arguments, without a word.
    if len(argv[-1]) >= COMMAND_LINE_SIZE:
        sys.exit(f'vm: the kernel command line is {len(argv[-1])} bytes, more than '
                 f'{COMMAND_LINE_SIZE - 1}: {argv[-1][:60]}...')
    with open(os.path.join(rundir, 'qemu.cmd'), 'w') as f:
        f.write(' '.join(argv) + '\n')
    return rundir, accel, argv


def attach(rundir):
    qmp = QMP(os.path.join(rundir, 'qmp.sock'))
    threading.Thread(target=serve_host, daemon=True,
                     args=(os.path.join(rundir, 'host.sock'), qmp)).start()
    return qmp


def shell(args):
    rundir, accel, argv = start(args, 'shell')
    print(f'vm: {accel}, console below; Ctrl-A X quits', flush=True)
    qemu = subprocess.Popen(argv)
    attach(rundir)
    return qemu.wait()


def find_splats(lines):
    """Each kernel report once, as (test running then, its lines): from its
    first line to its end marker, the next test's marker or 80 lines, so
    that a report's own WARNING and Call Trace lines belong to it."""
    reports, i, test = [], 0, 'boot'
    while i < len(lines):
        m = TEST_START.search(lines[i])
        if m:
            test = m.group(1)
        if not SPLAT.match(lines[i]):
            i += 1
            continue
        j = i + 1
        while j < len(lines) and j - i < 80 and \
                not TEST_MARK.search(lines[j]):
            j += 1
            if END_OF_REPORT.search(lines[j - 1]):
                break
        reports.append((test, lines[i:j]))
        i = j
    return reports


class Suite:
    """Follows the KTAP stream of guest/init as it grows."""

    def __init__(self, path):
        self.path, self.pos, self.partial = path, 0, ''
        # results: (name, status) in order; runs: each result's own output.
        self.planned, self.results, self.output, self.runs = None, [], {}, []
        self.cases = []
        self.current, self.deadline, self.ended = None, None, False

    def poll(self, echo):
        try:
            with open(self.path, errors='replace') as f:
                f.seek(self.pos)
                data = f.read()
                self.pos = f.tell()
        except FileNotFoundError:
            return
        lines = (self.partial + data).split('\n')
        self.partial = lines.pop()
        for line in lines:
            self.line(line.rstrip('\r'), echo)

    def line(self, line, echo):
        now = time.monotonic()
        m = re.match(r'^1\.\.(\d+)$', line)
        if m:
            self.planned = int(m.group(1))
            echo(f'vm: booted, {self.planned} tests')
            self.deadline = None
            return
        m = re.match(r'^# gmem-test: (\S+) timeout=(\d+)$', line)
        if m:
            self.current = (m.group(1), now, [])
            self.output.setdefault(m.group(1), [])
            self.deadline = now + int(m.group(2)) + GRACE
            return
        if line == '# gmem-suite: end':
            self.ended = True
            self.deadline = now + GRACE
            return
        m = RESULT.match(line)
        if m:
            ok, n, name, directive, rest = m.groups()
            took = now - self.current[1] if self.current else 0
            skip = ok == 'ok' and directive == 'SKIP'
            status = 'skip' if skip else ('pass' if ok == 'ok' else 'fail')
            self.results.append((name, status))
            self.runs.append(self.current[2] if self.current else [])
            echo(f'{line}  ({took:.1f} s)')
            self.current, self.deadline = None, None
            return
        if self.current:
            self.output[self.current[0]].append(line)
            self.current[2].append(line)


SUITE = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', 'guest', 'suite'))
SKIPS = os.path.join(os.path.dirname(SUITE), 'skips')


def load_skips(path=SKIPS):
    """guest/skips: the skips that stay skips, as dicts of test, cases,
    reason (regular expressions, matched whole) and why."""
    entries, entry, key = [], {}, None
    with open(path) as f:
        for line in f.read().split('\n') + ['']:
            if line.startswith('#'):
                continue
            if not line.strip():
                if entry:
                    missing = {'test', 'cases', 'reason', 'why'} - set(entry)
                    if missing:
                        raise ValueError(f'{path}: an entry without {", ".join(sorted(missing))}')
                    entries.append(entry)
                entry = {}
                continue
            if line[0].isspace() and entry:
                entry[key] += ' ' + line.strip()
                continue
            key, _, value = line.partition(':')
            key = key.strip()
            entry[key] = value.strip()
    return entries


def program_ktap(output):
    """A program's own KTAP: its plan (N, or None if it printed none), the
    reason of a 1..0 # SKIP (else None), and its results, each (case,
    status, reason). A result without a description (ksft_exit_skip()'s)
    is named by its place, #N, and a skip is a skip, never a pass."""
    plan, plan_skip, found = None, None, []
    for line in output:
        m = PLAN.match(line)
        if m and plan is None:
            plan = int(m.group(1))
            plan_skip = (m.group(3) or '') if m.group(2) else None
            continue
        m = CASE.match(line)
        if m:
            ok, case, skip, reason = m.groups()
            found.append((case or f'#{len(found) + 1}',
                          'skip' if skip else 'pass' if ok == 'ok' else 'fail', reason or ''))
    return plan, plan_skip, found


def unplanned(plan, found):
    """The failures a plan of @plan cases leaves after the @found ones: one
    for each case it did not print (a crash between cases loses them), or
    one for printing more than it planned."""
    if plan is None or len(found) == plan:
        return []
    if len(found) > plan:
        return [(f'1..{plan}', 'fail', f'printed {len(found)} cases, planned {plan}')]
    return [(f'#{k}', 'fail', f'not printed: planned {plan} cases, printed {len(found)}')
            for k in range(len(found) + 1, plan + 1)]


def cases(test, status, output, skips):
    """The results of one suite entry, each (case, status, note): the cases
    its program printed as KTAP, or the entry itself if it printed none.
    A skip that @skips does not list is a failure; so is a program that
    failed after cases that all passed (a crash, a timeout), each case its
    plan (1..N) has and its output lacks, and a plan of none (1..0, as a
    -t that matches no case gives) that does not say SKIP."""
    plan, plan_skip, found = program_ktap(output)
    if plan == 0 and not found:
        if plan_skip is not None and status != 'fail':
            found = [(test, 'skip', plan_skip)]
        else:
            found = [(test, 'fail', 'planned no cases (1..0): does a -t or -T match none?')]
    elif plan is None and not found:
        reason = ''
        if status == 'skip':
            said = [line for line in output if 'SKIP' in line or 'skip' in line]
            reason = said[-1].lstrip('# ') if said else ''
        found = [(test, status, reason)]
    else:
        found += unplanned(plan, found)
        if status == 'fail' and all(st != 'fail' for _, st, _ in found):
            found.append((test, 'fail', 'the program failed after its last case'))
    result = []
    for case, st, note in found:
        if st == 'skip' and not any(
                re.fullmatch(e['test'], test) and re.fullmatch(e['cases'], case) and
                re.fullmatch(e['reason'], note) for e in skips):
            st, note = 'fail', f'skipped, not allowed by guest/skips: "{note}"'
        result.append((case, st, note))
    return result


def pattern(regex, what='TESTS'):
    """@regex compiled. A bad one ends the run with one line: it is a typo
    on the command line, not a bug of the harness (no traceback)."""
    try:
        return re.compile(regex)
    except re.error as e:
        sys.exit(f'{what} {regex!r}: not a regular expression (Python re): {e}')


def selection(path, only):
    """guest/suite's boots that run an entry matching @only anywhere in its
    line, as guest/init numbers them: (number, extra kernel args, entries),
    each entry (its line number in @path, the line). Decided here alone: the
    guest runs the lines it is given (gmem.lines=), so that no second
    matcher (busybox grep -E) can pick other entries than the host counts."""
    match = pattern(only).search if only else lambda line: True
    result = [(0, '', [])]
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            if line.startswith('boot:'):
                result.append((len(result), line[len('boot:'):].strip(), []))
            elif match(line):
                result[-1][2].append((number, line))
    return [boot for boot in result if boot[2]]


def boots(path, only):
    """selection(), each boot's entries by their programs: (number, extra
    kernel args, tests)."""
    return [(n, extra, [line.split()[0] for _, line in entries])
            for n, extra, entries in selection(path, only)]


def boot_entries(args, n):
    """The entries of boot @n that @args select, as selection() gives them."""
    return next((entries for m, _, entries in selection(args.suite, args.tests)
                 if m == n), [])


def guest_args(n, entries):
    """What tells guest/init the boot it is (@n) and the lines of its suite
    to run (@entries): numbers, a few bytes each on the kernel command line."""
    return f'gmem.boot={n} gmem.lines={",".join(str(number) for number, _ in entries)}'


def check(args):
    """Each boot of the suite in its own QEMU; one summary for all: the
    cases inside the programs, and the skips with their reasons."""
    totals, skipped = [0, 0, 0], []
    selected = boots(args.suite, args.tests)
    if not selected:
        print(f'vm: no entry of {args.suite} matches TESTS {args.tests!r}', flush=True)
        return 2
    for n, extra, _ in selected:
        kernel = boot_kernel(args, extra)
        if not kernel or not os.path.exists(kernel):
            print(f'vm: boot {n} ("{extra}") needs a kernel: {kernel or "give --base-kernel"}',
                  flush=True)
            return 2
    started = time.monotonic()
    for n, extra, tests in selected:
        print(f'vm: boot {n}: {len(tests)} tests, kernel args "{extra}"', flush=True)
        boot_started = time.monotonic()
        counts, suite = check_boot(args, n, extra, expected=len(tests))
        print(f'stage: boot-{n} {time.monotonic() - boot_started:.0f} s', flush=True)
        for i, count in enumerate(counts):
            totals[i] += count
        skipped += [f'boot {n}: {test}: {case}: {note}'
                    for test, case, status, note in suite.cases if status == 'skip']
    if skipped:
        print('vm: skipped, as guest/skips allows:', flush=True)
        for line in skipped:
            print('  ' + line, flush=True)
    print(f'stage: boots {time.monotonic() - started:.0f} s', flush=True)
    if os.environ.get('GMEM_START', '').isdigit():
        print(f'stage: total {time.time() - int(os.environ["GMEM_START"]):.0f} s', flush=True)
    print('{} passed, {} failed, {} skipped'.format(*totals), flush=True)
    return 1 if totals[1] else 0


def owed(suite, expected):
    """How many results a boot owes: as many as guest/suite lists for it
    (@expected), or as the guest planned if that is more, so that a guest
    whose list is missing or short fails rather than passes empty."""
    return max(expected or 0, suite.planned or 0)


def check_boot(args, n, extra, name=None, expected=None):
    """Run boot @n of the suite in $BUILD/@name (check@n), which should run
    @expected tests; return (passed, failed, skipped) and the Suite: results
    in order, output by name."""
    entries = boot_entries(args, n)
    rundir, accel, argv = start(args, 'check', name or f'check{n}',
                                f'{guest_args(n, entries)} {extra}')
    console_log = os.path.join(rundir, 'console.log')

    def echo(msg):
        print(msg, flush=True)

    version = subprocess.run(['qemu-system-x86_64', '--version'],
                             capture_output=True, text=True).stdout.split('\n')[0]
    echo(f'vm: {version}, {accel}; logs in {rundir}')
    suite = Suite(os.path.join(rundir, 'ktap.log'))
    with open(console_log, 'w') as log:
        qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            attach(rundir)
        except OSError as e:
            echo(f'vm: cannot reach QEMU: {e}')
        start_time = time.monotonic()
        suite.deadline = start_time + BOOT_TIMEOUT
        timed_out = False
        while qemu.poll() is None:
            time.sleep(0.5)
            suite.poll(echo)
            if suite.deadline and time.monotonic() > suite.deadline:
                timed_out = not suite.ended
                what = suite.current[0] if suite.current else 'boot'
                if timed_out:
                    echo(f'vm: no progress in {what}: killing QEMU')
                qemu.kill()
                qemu.wait()
        suite.poll(echo)
    elapsed = time.monotonic() - start_time

    with open(console_log, errors='replace') as f:
        console = [line.rstrip('\r\n') for line in f]
    splats = find_splats(console)
    failed = [name for name, status in suite.results if status == 'fail']
    for name in failed:
        output = suite.output.get(name, [])
        why = [line for line in output if FAILURE.search(line)]
        if why:
            echo(f'\n--- why {name} failed (first 20 such lines) ---')
            for line in why[:20]:
                echo(line)
        # guest/init's stacks of a program that timed out end its output.
        tail = 160 if any('timed out: ' in line for line in output) else 40
        echo(f'\n--- output of {name} (last {tail} lines) ---')
        for line in output[-tail:]:
            echo(line)
    missing = owed(suite, expected) - len(suite.results)
    # The guest runs the lines of its own copy of the suite: one that
    # differs from ours (an initramfs older than guest/suite) runs others.
    ran = [name for name, _ in suite.results]
    wanted = [line.split()[0] for _, line in entries][:len(ran)]
    if ran != wanted:
        echo(f'vm: boot {n} ran {", ".join(ran)} where {args.suite} has '
             f'{", ".join(wanted)}: is the initramfs older than it?')
    if suite.planned is None or missing or timed_out or not suite.ended:
        # -no-reboot: a guest that reset (a triple fault, say) ends QEMU
        # with status 0, a QEMU that crashed with its own.
        exited = ('' if timed_out else
                  f'; QEMU exited with status {qemu.returncode} after {elapsed:.0f} s')
        echo(f'\nvm: the suite did not finish ({len(suite.results)} of '
             f'{owed(suite, expected)} results; the guest planned '
             f'{suite.planned if suite.planned is not None else "?"}{exited}); console tail:')
        for line in console[-40:]:
            echo('  ' + line)
        if suite.current:
            echo(f'\n--- output of {suite.current[0]}, unfinished (last 80 lines) ---')
            for line in suite.current[2][-80:]:
                echo(line)
    for test, report in splats:
        echo(f'\n--- kernel report in the guest log, during {test} ---')
        for line in report:
            echo('  ' + line)
    echo(f'kernel log: {len(splats)} reports' if splats else 'kernel log: clean')

    skips = load_skips()
    suite.cases = [(name, case, status, note)
                   for (name, st), lines in zip(suite.results, suite.runs)
                   for case, status, note in cases(name, st, lines, skips)]
    for name, case, status, note in suite.cases:
        # A program's own failure without a note is its "not ok" line above.
        if status == 'fail' and (case != name or note):
            what = name if case == name else f'{name}: {case}'
            echo(f'vm: {what}: failed{": " + note if note else ""}')
    passed = sum(1 for c in suite.cases if c[2] == 'pass')
    skipped = sum(1 for c in suite.cases if c[2] == 'skip')
    # A missing result counts as a failure; so does a dirty kernel log.
    nfail = sum(1 for c in suite.cases if c[2] == 'fail') + max(missing, 0) + \
        (1 if splats else 0) + (1 if ran != wanted else 0)
    if suite.planned is None:
        nfail += 1
    echo(f'vm: {elapsed:.0f} s in QEMU, {len(suite.results)} programs; their cases: '
         f'{passed} passed, {nfail} failed, {skipped} skipped')
    return (passed, nfail, skipped), suite


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('mode', choices=('check', 'shell'))
    p.add_argument('--build', required=True)
    p.add_argument('--tests', default='', help='regex over suite entries (Python re)')
    p.add_argument('--append', default='', help='extra kernel command line')
    p.add_argument('--suite', default=SUITE, help='the list of tests (guest/...)')
    p.add_argument('--kernel', help='bzImage to boot instead of the build\'s')
    p.add_argument('--base-kernel', help='bzImage of the boots with gmem.kernel=base')
    args = p.parse_args()
    args.build = os.path.abspath(args.build)
    args.suite = os.path.abspath(args.suite)
    sys.exit(check(args) if args.mode == 'check' else shell(args))


if __name__ == '__main__':
    main()
