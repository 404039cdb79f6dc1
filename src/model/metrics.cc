#include "model/metrics.h"
