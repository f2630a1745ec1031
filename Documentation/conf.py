# SPDX-License-Identifier: GPL-2.0
# Sphinx configuration for the mmu_notifier_sim documentation.
#
# The uAPI page uses the kernel's own kernel-doc extension, taken from an
# unpacked Linux source tree: MNSIM_KSRC (set by tools/testing/docs.sh).
import os
import sys

project = 'mmu_notifier_sim'
copyright = '2026, The mmu_notifier_sim authors'
master_doc = 'index'
exclude_patterns = ['output']
html_theme = 'alabaster'

ksrc = os.environ.get('MNSIM_KSRC')
if not ksrc:
    raise RuntimeError('MNSIM_KSRC must name an unpacked Linux source tree '
                       '(tools/testing/docs.sh sets it)')
sys.path.insert(0, os.path.join(ksrc, 'Documentation', 'sphinx'))
extensions = ['kerneldoc']
kerneldoc_bin = os.path.join(ksrc, 'scripts', 'kernel-doc')
kerneldoc_srctree = os.path.abspath(os.path.join(os.path.dirname(__file__),
                                                 '..'))
