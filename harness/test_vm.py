#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Unit tests of vm.py (what fails a run must fail it; the suite's boots)
and of bench.py's statistics."""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vm  # noqa: E402
import bench  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The guest's shell, where the host has it (busybox-static, make deps).
SHELL = ['busybox', 'sh'] if shutil.which('busybox') else ['sh']

CLEAN = """\
[    0.000000] Linux version 7.3.4+ (gmem@gmem) (gcc (Debian 12.2.0-14+deb12u1) 12.2.0)
[    2.323388] virtio_mem virtio0: start address: 0x140000000
[    2.800000] kvm_amd: Nested Virtualization enabled
[    3.195569] gmem-test: start kvm/guest_memfd_test
[    3.300000] kvm: memslot warning threshold is a setting, not a splat
[    6.083043] gmem-test: end kvm/guest_memfd_test rc=0
""".splitlines()

WARN = """\
[    7.000000] gmem-test: start kvm/set_memory_region_test
[    7.100000] ------------[ cut here ]------------
[    7.100001] WARNING: CPU: 1 PID: 140 at virt/kvm/guest_memfd.c:463 kvm_gmem_migrate_folio+0x5/0x10
[    7.100002] Modules linked in:
[    7.100003] Call Trace:
[    7.100004]  <TASK>
[    7.100005]  migrate_pages+0x1/0x2
[    7.100006]  </TASK>
[    7.100007] ---[ end trace 0000000000000000 ]---
[    7.200000] gmem-test: end kvm/set_memory_region_test rc=0
""".splitlines()

LOCKDEP = """\
[    9.000000] gmem-test: start kvm/guest_memfd_migrate_test
[    9.100000] ======================================================
[    9.100001] WARNING: possible circular locking dependency detected
[    9.100002] 7.3.4+ #1 Not tainted
""".splitlines()

KASAN = """\
[   11.000000] BUG: KASAN: slab-use-after-free in kvm_gmem_get_pfn+0x10/0x20
[   11.000001] Read of size 8 at addr ffff888000000000 by task t/1
""".splitlines()


class Splats(unittest.TestCase):
    def test_clean_log(self):
        self.assertEqual(vm.find_splats(CLEAN), [])

    def test_warning_is_one_report_of_its_test(self):
        reports = vm.find_splats(CLEAN + WARN)
        self.assertEqual(len(reports), 1)
        test, lines = reports[0]
        self.assertEqual(test, 'kvm/set_memory_region_test')
        self.assertIn('cut here', lines[0])
        self.assertIn('end trace', lines[-1])

    def test_lockdep_kasan_and_boot(self):
        reports = vm.find_splats(KASAN + LOCKDEP)
        self.assertEqual([t for t, _ in reports], ['boot', 'kvm/guest_memfd_migrate_test'])

    def test_other_reports(self):
        for line in ('[    1.0] BUG: sleeping function called from invalid context',
                     '[    1.0] kernel BUG at mm/migrate.c:100!',
                     '[    1.0] Oops: general protection fault, probably for non-canonical',
                     '[    1.0] BUG: KFENCE: use-after-free read in x',
                     '[    1.0] UBSAN: shift-out-of-bounds in mm/x.c:1:2',
                     '[    1.0] INFO: task kworker/0:1:12 blocked for more than 120 seconds.',
                     '[    1.0] rcu: INFO: rcu_preempt self-detected stall on CPU',
                     '[    1.0] Kernel panic - not syncing: Fatal exception',
                     '[    1.0][    T1] WARNING: suspicious RCU usage'):
            self.assertEqual(len(vm.find_splats([line])), 1, line)


class KTAP(unittest.TestCase):
    def run_suite(self, text):
        suite = vm.Suite('/nonexistent')
        for line in text.splitlines():
            suite.line(line, lambda msg: None)
        return suite

    def test_results_and_output(self):
        s = self.run_suite("""\
TAP version 13
1..3
# gmem-test: kvm/a timeout=300
# TAP version 13
# ok 1 inner case
ok 1 kvm/a
# gmem-test: kvm/b timeout=300
# ==== Test Assertion Failure ====
not ok 2 kvm/b # exit=254
# gmem-test: kvm/c timeout=300
ok 3 kvm/c # SKIP
# gmem-suite: end""")
        self.assertEqual(s.planned, 3)
        self.assertTrue(s.ended)
        self.assertEqual(s.results, [('kvm/a', 'pass'), ('kvm/b', 'fail'), ('kvm/c', 'skip')])
        self.assertEqual(s.output['kvm/b'], ['# ==== Test Assertion Failure ===='])

    def test_inner_results_are_not_programs(self):
        s = self.run_suite("1..1\n# gmem-test: kvm/a timeout=9\n# not ok 1 inner\n")
        self.assertEqual(s.results, [])
        self.assertFalse(s.ended)

    def test_an_empty_guest_list_owes_the_host_list(self):
        s = self.run_suite("TAP version 13\n1..0\n# gmem-suite: end")
        self.assertEqual(vm.owed(s, 1), 1)
        self.assertEqual(vm.owed(self.run_suite("1..3\n"), 2), 3)

    def test_a_test_run_twice_keeps_both_outputs(self):
        s = self.run_suite("1..2\n# gmem-test: b/x timeout=9\n# {1}\nok 1 b/x\n"
                           "# gmem-test: b/x timeout=9\n# {2}\nnot ok 2 b/x # exit=1\n")
        self.assertEqual(s.output['b/x'], ['# {1}', '# {2}'])
        self.assertEqual(s.runs, [['# {1}'], ['# {2}']])
        self.assertEqual([st for _, st in s.results], ['pass', 'fail'])


class Cases(unittest.TestCase):
    SKIPS = [{'test': 'kvm/a', 'cases': r'f\.x', 'reason': 'param is off', 'why': '-'}]

    def cases(self, status, output):
        return vm.cases('kvm/a', status, output.splitlines(), self.SKIPS)

    def test_every_case_counts(self):
        out = ('# TAP version 13\n# 1..3\n# # RUN f.x\n# ok 1 f.x\n'
               '# not ok 2 f.y\n# # ok 9 nested, not counted\n# ok 3 two words')
        self.assertEqual([(c, st) for c, st, _ in self.cases('fail', out)],
                         [('f.x', 'pass'), ('f.y', 'fail'), ('two words', 'pass')])

    def test_a_listed_skip_stays_a_skip(self):
        self.assertEqual(self.cases('pass', '# ok 1 f.x # SKIP param is off'),
                         [('f.x', 'skip', 'param is off')])

    def test_any_other_skip_fails(self):
        for out in ('# ok 1 f.x # SKIP needs two nodes', '# ok 1 f.z # SKIP param is off',
                    '# ok 1 f.x # SKIP'):
            [(case, status, note)] = self.cases('pass', out)
            self.assertEqual(status, 'fail', out)
            self.assertIn('guest/skips', note)

    def test_a_program_without_cases_is_one(self):
        self.assertEqual(self.cases('pass', '# Random seed: 0x1'), [('kvm/a', 'pass', '')])
        [(case, status, _)] = self.cases('skip', '# 1..0 # SKIP - Requirement not met')
        self.assertEqual((case, status), ('kvm/a', 'fail'))

    def test_a_crash_after_passing_cases_fails(self):
        self.assertEqual([st for _, st, _ in self.cases('fail', '# ok 1 f.x')],
                         ['pass', 'fail'])

    def test_a_plan_of_none_fails_unless_it_skips(self):
        # kselftest_harness given a -t that matches no case: 1..0, exit 0.
        out = ('# TAP version 13\n# 1..0\n# # Starting 0 tests from 0 test cases.\n'
               '# # PASSED: 0 / 0 tests passed.')
        [(case, status, note)] = self.cases('pass', out)
        self.assertEqual((case, status), ('kvm/a', 'fail'))
        self.assertIn('1..0', note)
        # ksft_exit_skip() before a plan: a skip, with its reason.
        skips = [{'test': 'kvm/a', 'cases': 'kvm/a', 'reason': 'needs SEV', 'why': '-'}]
        self.assertEqual(vm.cases('kvm/a', 'skip', ['# 1..0 # SKIP needs SEV'], skips),
                         [('kvm/a', 'skip', 'needs SEV')])

    def test_cases_the_plan_has_and_the_output_lacks_fail(self):
        # A crash between cases, whatever the program's exit status.
        for status in ('pass', 'fail'):
            self.assertEqual([(c, st) for c, st, _ in
                              self.cases(status, '# 1..4\n# ok 1 f.x\n# ok 2 f.y')],
                             [('f.x', 'pass'), ('f.y', 'pass'), ('#3', 'fail'), ('#4', 'fail')])
        # Before its first case: every planned case fails.
        self.assertEqual([st for _, st, _ in self.cases('fail', '# 1..2\n# Segmentation fault')],
                         ['fail', 'fail'])
        # More than planned: one failure more.
        self.assertEqual([st for _, st, _ in self.cases('pass', '# 1..1\n# ok 1 f.x\n# ok 2 f.y')],
                         ['pass', 'pass', 'fail'])

    def test_ksft_exit_skip_after_a_plan_is_a_skip(self):
        # ksft_exit_skip() after a plan: no description, the last case's number.
        out = '# 1..2\n# ok 1 f.x\n# ok 1 # SKIP param is off'
        [first, (case, status, note)] = self.cases('skip', out)
        self.assertEqual(first, ('f.x', 'pass', ''))
        self.assertEqual((case, status), ('#2', 'fail'))
        self.assertIn('not allowed by guest/skips', note)
        skips = [{'test': 'kvm/a', 'cases': '#2', 'reason': 'param is off', 'why': '-'}]
        self.assertEqual(vm.cases('kvm/a', 'skip', out.splitlines(), skips)[1],
                         ('#2', 'skip', 'param is off'))

    def test_the_repository_list_parses(self):
        for entry in vm.load_skips():
            self.assertTrue(entry['why'])
            re_ok = [vm.re.compile(entry[k]) for k in ('test', 'cases', 'reason')]
            self.assertEqual(len(re_ok), 3)

    def test_failure_lines(self):
        lines = ['# # memory39: poisoned, left alone', '#   pid=1 errno=11',
                 '# ==== Test Assertion Failure ====', '# # Totals: pass:1 fail:0']
        self.assertEqual([x for x in lines if vm.FAILURE.search(x)], lines[1:3])

    def test_boots_number_as_guest_init(self):
        path = os.path.join(os.environ.get('TMPDIR', '/tmp'), 'gmem-suite-test')
        with open(path, 'w') as f:
            f.write('# c\nkvm/a 60 -t move\nboot: x=1\n\nkvm/b\nboot: x=0\nboot: y\nkvm/c 9\n')
        try:
            self.assertEqual(vm.boots(path, ''),
                             [(0, '', ['kvm/a']), (1, 'x=1', ['kvm/b']), (3, 'y', ['kvm/c'])])
            self.assertEqual(vm.boots(path, 'c'), [(3, 'y', ['kvm/c'])])
            self.assertEqual(vm.boots(path, 'move'), [(0, '', ['kvm/a'])])
            self.assertEqual(vm.boots(path, 'nothing'), [])
        finally:
            os.unlink(path)

    def test_a_base_boot_runs_the_base_kernel_or_nothing(self):
        args = argparse.Namespace(build='/b', kernel=None, base_kernel='/base/bzImage')
        self.assertEqual(vm.boot_kernel(args, 'x=1 gmem.kernel=base'), '/base/bzImage')
        self.assertEqual(vm.boot_kernel(args, 'x=1'), '/b/arch/x86/boot/bzImage')
        args.base_kernel = None
        self.assertIsNone(vm.boot_kernel(args, 'gmem.kernel=base'))
        path = os.path.join(os.environ.get('TMPDIR', '/tmp'), 'gmem-suite-test')
        with open(path, 'w') as f:
            f.write('boot: x=1\nkvm/a\nboot: gmem.kernel=base\nguest/b\n')
        try:
            args = argparse.Namespace(build='/nonexistent', kernel=None, base_kernel=None,
                                      suite=path, tests='')
            self.assertEqual(vm.check(args), 2)
        finally:
            os.unlink(path)


class KtapSh(unittest.TestCase):
    """guest/tests/ktap.sh, in the guest's shell."""

    def run_script(self, body):
        ktap = os.path.join(TOP, 'guest', 'tests', 'ktap.sh')
        return subprocess.run(SHELL + ['-c', f'. {ktap}; {body}'],
                              capture_output=True, text=True)

    def test_a_script_must_run_the_cases_it_planned(self):
        r = self.run_script('ktap_plan 3; ktap_result 0 a; ktap_result 0 b; ktap_exit')
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn('planned 3 cases (ktap_plan), ran 2', r.stdout)
        # The host counts the case it lacks, as guest/init indents the output.
        out = ['# ' + line for line in r.stdout.splitlines()]
        self.assertEqual([st for _, st, _ in vm.cases('guest/t.sh', 'fail', out, [])],
                         ['pass', 'pass', 'fail'])
        r = self.run_script('ktap_plan 1; ktap_result 0 a; ktap_result 0 b; ktap_exit')
        self.assertEqual(r.returncode, 1, r.stdout)
        r = self.run_script('ktap_plan 2; ktap_result 0 a; ktap_result 0 b; ktap_exit')
        self.assertEqual(r.returncode, 0, r.stdout)


class Selection(unittest.TestCase):
    """TESTS is matched once, by vm.py; the guest runs the lines it is given."""
    SUITE = ('# c\nkvm/a 60 -t move\nboot: x=1\n\nkvm/b\nguest/d.sh\nboot: x=0\n'
             'boot: y\nkvm/c 9\n')

    def setUp(self):
        fd, self.path = tempfile.mkstemp(prefix='gmem-suite-test')
        with os.fdopen(fd, 'w') as f:
            f.write(self.SUITE)

    def tearDown(self):
        os.unlink(self.path)

    def guest_entries(self, boot, lines):
        """guest/init's entries(), run as the guest runs it."""
        with open(os.path.join(TOP, 'guest', 'init')) as f:
            func = re.search(r'^entries\(\) \{\n.*?^\}\n', f.read(), re.M | re.S).group(0)
        r = subprocess.run(SHELL + ['-c', f'{func}entries "$@"', 'init', self.path,
                                    str(boot), lines], capture_output=True, text=True, check=True)
        return r.stdout.splitlines()

    def test_the_guest_runs_the_entries_the_host_counts(self):
        # Python's re and busybox grep -E differ: \d is a digit to one and
        # a d to the other; (?i) is an error to grep.
        for only in ('', r'\d', '(?i)KVM/B', 'b|c', '-t move'):
            for n, _, entries in vm.selection(self.path, only):
                lines = re.fullmatch(r'gmem\.boot=\d+ gmem\.lines=(\S*)',
                                     vm.guest_args(n, entries)).group(1)
                self.assertEqual(self.guest_entries(n, lines), [line for _, line in entries],
                                 only)
        self.assertEqual([n for n, _, _ in vm.selection(self.path, r'\d')], [0, 3])
        # Booted by hand, without gmem.lines: every entry of its boot.
        for n, _, entries in vm.selection(self.path, ''):
            self.assertEqual(self.guest_entries(n, 'boot'), [line for _, line in entries])

    def test_the_kernel_command_line_carries_line_numbers(self):
        with tempfile.TemporaryDirectory() as d, mock.patch.dict(os.environ, GMEM_ACCEL='tcg'):
            args = argparse.Namespace(build=d, kernel='/k', base_kernel=None, append='',
                                      tests=r'\d', suite=self.path)
            _, _, argv = vm.start(args, 'check', 'check3',
                                  vm.guest_args(3, vm.boot_entries(args, 3)))
            self.assertIn('gmem.boot=3 gmem.lines=9 ', argv[-1])
            self.assertNotIn(r'\d', argv[-1])
            args.append = 'x' * vm.COMMAND_LINE_SIZE
            with self.assertRaises(SystemExit) as cm:
                vm.start(args, 'check', 'check3', '')
            self.assertIn('kernel command line', str(cm.exception.code))

    def test_a_bad_tests_regex_is_one_line_and_an_exit(self):
        args = argparse.Namespace(build='/nonexistent', kernel=None, base_kernel=None,
                                  suite=self.path, tests='(')
        for call in (lambda: vm.boots(self.path, '('), lambda: vm.check(args)):
            with self.assertRaises(SystemExit) as cm:
                call()
            self.assertRegex(str(cm.exception.code),
                             r"^TESTS '\(': not a regular expression \(Python re\): [^\n]*$")
        args.tests = 'nothing'
        self.assertEqual(vm.check(args), 2)


class Mutants(unittest.TestCase):
    """make mutants MUTANTS=...: the same matcher, clear errors."""

    def run_mutants(self, regex):
        # A tree that does not exist: nothing is touched if selection fails to stop.
        with tempfile.TemporaryDirectory() as d:
            env = dict(os.environ, TREE='/nonexistent', WORK=d, BUILD='/nonexistent',
                       VARIANT='debug')
            return subprocess.run([os.path.join(TOP, 'harness', 'mutants.sh'), regex],
                                  env=env, capture_output=True, text=True)

    def test_a_regex_that_matches_no_mutant_fails(self):
        r = self.run_mutants('nomatch')
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("no mutant in", r.stderr)
        self.assertIn("matches MUTANTS 'nomatch'", r.stderr)

    def test_a_bad_regex_is_one_line(self):
        r = self.run_mutants('(')
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr, r"^MUTANTS '\(': not a regular expression \(Python re\): .*\n$")

    def test_make_passes_tests_and_mutants_through_the_environment(self):
        # Quoted into a recipe by make, a ' in them ends the quote.
        with open(os.path.join(TOP, 'Makefile')) as f:
            recipes = [line for line in f if line.startswith('\t')]
        self.assertEqual([line for line in recipes if re.search(r'\$\((TESTS|MUTANTS)\)', line)],
                         [])
        if not shutil.which('make'):
            return
        env = {k: v for k, v in os.environ.items()
               if k not in ('MAKEFLAGS', 'MFLAGS', 'MAKELEVEL')}
        for target, var in (('check', 'TESTS'), ('mutants', 'MUTANTS')):
            # -n: the recipes printed, not run; sh -n: they parse.
            out = subprocess.run(['make', '-s', '-n', '-C', TOP, target, f"{var}=it's"],
                                 env=env, capture_output=True, text=True, check=True).stdout
            r = subprocess.run(['sh', '-n'], input=out, capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)


class HostRequests(unittest.TestCase):
    def test_any_error_is_answered_and_serving_goes_on(self):
        class QMP:
            def __init__(self):
                self.calls = 0

            def execute(self, cmd, **args):
                self.calls += 1
                if self.calls == 1:
                    raise KeyError('return')
                return 42

        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, 'host.sock')
            server = socket.socket(socket.AF_UNIX)
            server.bind(path)
            server.listen(1)
            threading.Thread(target=vm.serve_host, args=(path, QMP()),
                             daemon=True).start()
            conn, _ = server.accept()
            f = conn.makefile('rw')
            replies = []
            for _ in range(2):
                f.write('qom-get vmem0 size\n')
                f.flush()
                replies.append(f.readline().strip())
            conn.close()
            server.close()
        self.assertTrue(replies[0].startswith('error: KeyError'), replies)
        self.assertEqual(replies[1], 'ok 42')


    def test_a_dimm_is_a_backend_and_a_device(self):
        class QMP:
            calls = []

            def execute(self, cmd, **args):
                self.calls.append((cmd, args))
                return {}

        class Channel(list):
            def write(self, reply):
                self.replies = getattr(self, 'replies', '') + reply

            def flush(self):
                pass

        qmp, channel = QMP(), Channel(['dimm-add d0 536870912 1\n', 'dimm-del d0\n'])
        vm.serve_requests(channel, qmp)
        self.assertEqual(channel.replies, 'ok\nok\n')
        self.assertEqual(qmp.calls, [
            ('object-add', {'qom-type': 'memory-backend-ram', 'id': 'd0-mem',
                            'size': 536870912}),
            ('device_add', {'driver': 'pc-dimm', 'id': 'd0', 'memdev': 'd0-mem',
                            'node': 1}),
            ('device_del', {'id': 'd0'})])


class BenchStats(unittest.TestCase):
    def test_percentiles(self):
        # 98 accesses at 1000 cycles, 1 at 2000, 1 at 8000; 1 MHz TSC.
        hist = {'1000': 98, '2000': 1, '8000': 1}
        self.assertEqual(bench.percentiles(hist, 1000, (0.5, 0.99, 1.0)),
                         [1000.0, 2000.0, 8000.0])

    def test_paired_ratio_pairs_rounds(self):
        recs = [{'fig': 'f', 'kind': k, 'round': r, 'ns': ns, 'moved': 1}
                for k, r, ns in (('a', 0, 10), ('b', 0, 5), ('a', 1, 30), ('b', 1, 10),
                                 ('a', 2, 8), ('b', 2, 8))]
        self.assertEqual(bench.paired_ratio(recs, 'f', 'a', 'b', bench.per_page),
                         (2.0, 1.0, 3.0))

    def test_median_and_spread(self):
        self.assertEqual(bench.med([3, None, 1, 2]), (2, 1, 3))
        self.assertIsNone(bench.med([None]))
        self.assertEqual(bench.fmt((2, 1, 3), 1, 0), '2 [1-3]')


if __name__ == '__main__':
    unittest.main()
