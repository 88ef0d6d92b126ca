// Everything a user needs to compute with tensors: the engine plus every op.
#pragma once

#include "engine/autograd.h"
#include "engine/creation.h"
#include "engine/random.h"
#include "engine/tensor.h"
#include "engine/threading.h"
#include "ops/activation.h"
#include "ops/conv.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"
#include "ops/loss.h"
#include "ops/mmd.h"
#include "ops/reduction.h"
#include "ops/shape.h"
