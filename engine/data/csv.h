// Reader for tabular data as comma-separated numbers: one example per line, one feature per column,
// as float32 [N, D] on the CPU, for models of flat data (`strata train --data csv:FILE`).
//
//  - An optional header line is detected and skipped: the first non-blank line is a header when none
//    of its fields is a number. A line that mixes numbers and words is an error, not a header, so a
//    typo in the first row cannot silently drop it.
//  - Every row must have as many values as the first; blank lines are skipped; "\r\n" line ends and
//    spaces or tabs around a value are accepted; a value may start with '+'.
//  - NaN, infinities and values outside the float32 range are refused: training on them only
//    produces NaN losses far from the cause.
// Errors are strata::Error naming the file, the line and the column (both counted from 1).
#pragma once

#include <string>

#include "engine/tensor.h"

namespace strata {

Tensor read_csv_matrix(const std::string& path);

}  // namespace strata
