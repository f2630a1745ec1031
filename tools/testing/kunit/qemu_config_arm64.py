# SPDX-License-Identifier: GPL-2.0
#
# kunit.py --qemu_config for run-kunit.sh --arch arm64, modelled on the
# kernel's tools/testing/kunit/qemu_configs/arm64.py. kunit.py loads this file
# as if it lived in its own qemu_configs/ (hence the relative import).
#
# Why not the stock one: 6.1's asks for -cpu cortex-a57, 6.12's for
# -cpu max,pauth-impdef=on. This is one CPU for both kernels, and the one the
# project's arm64 VMs boot (tools/testing/vm/vm-run.sh); pauth-impdef=on
# because the architected pointer-auth algorithm (QARMA) costs TCG about
# twice the time, and the implementation-defined one is as good for us.
from ..qemu_config import QemuArchParams

QEMU_ARCH = QemuArchParams(linux_arch='arm64',
			   kconfig='''
CONFIG_SERIAL_AMBA_PL010=y
CONFIG_SERIAL_AMBA_PL010_CONSOLE=y
CONFIG_SERIAL_AMBA_PL011=y
CONFIG_SERIAL_AMBA_PL011_CONSOLE=y''',
			   qemu_arch='aarch64',
			   kernel_path='arch/arm64/boot/Image.gz',
			   kernel_command_line='console=ttyAMA0',
			   extra_qemu_params=['-machine', 'virt', '-cpu', 'max,pauth-impdef=on'])
