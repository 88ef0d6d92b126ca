// Every nn module, the init functions, in one include.
#pragma once

#include "models/nn/activation.h"
#include "models/nn/batch_norm.h"
#include "models/nn/conv.h"
#include "models/nn/dropout.h"
#include "models/nn/embedding.h"
#include "models/nn/flatten.h"
#include "models/nn/group_norm.h"
#include "models/nn/init.h"
#include "models/nn/layer_norm.h"
#include "models/nn/linear.h"
#include "models/nn/module.h"
#include "models/nn/sequential.h"
