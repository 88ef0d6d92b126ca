#!/usr/bin/env bash
# Guards the rule of backends/cpu/cpu_isa_target.h: in the AVX2 and AVX-512 compilations of the
# kernel files, every function the linker can see (global or weak, outside the variant's own
# namespace) must contain no AVX instruction. Such a function (an inline function or template
# from a header) has twins in the baseline objects, the linker keeps one copy for all callers,
# and an AVX copy would fault on a machine without AVX.
# Usage: check_cpu_isa_objects.sh NAMESPACE OBJECT...
set -euo pipefail
ns=$1
shift
checked=0
bad=0
for obj in "$@"; do
  # Text symbols with external linkage: T (global) and W (weak); V/u are data.
  while read -r _ type sym; do
    case $type in T|W) ;; *) continue ;; esac
    name=$(c++filt "$sym")
    [[ $name == "strata::cpu::${ns}::"* ]] && continue
    checked=$((checked + 1))
    # AT&T mnemonics of VEX/EVEX instructions start with 'v'; the wide registers are ymm/zmm, the
    # AVX-512 masks k0-k7.
    if objdump -d --no-show-raw-insn --disassemble="$sym" "$obj" |
        grep -Eq $'\t''v[a-z0-9]+ |%[yz]mm[0-9]|%k[0-7]'; then
      echo "AVX code in a linker-visible function of $obj: $name"
      bad=$((bad + 1))
    fi
  done < <(nm --defined-only "$obj")
done
echo "$checked linker-visible functions outside strata::cpu::${ns} checked in $# objects; $bad with AVX code"
[[ $checked -gt 0 && $bad -eq 0 ]]
