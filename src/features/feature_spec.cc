#include "features/feature_spec.h"
