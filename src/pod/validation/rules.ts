/**
 * The API server's pod validation (k8s.io/kubernetes v1.37.2 pkg/apis/core/validation, create of a
 * Pod; apimachinery v0.37.2 for the string checks), as data: one row per rule, for the fields a
 * static Pod can carry. A row says where it applies (select.ts patterns; container rows apply to
 * containers and init containers), the JSON type the field must have (checked before defaults,
 * like decoding), whether it is required (after defaults, as upstream validates), the check, and
 * upstream's own example values from its tests (test/unit/pod-validation.test.ts runs them).
 *
 * Rows marked `static` are not upstream's: they are what a static pod cannot use because the
 * kubelet has no API objects for it (secrets, config maps, service accounts) or decodes only v1 Pods.
 */
import { CONTAINER_RULES } from './rules-containers.js';
import { METADATA_RULES } from './rules-metadata.js';
import { SPEC_RULES } from './rules-spec.js';
import { VOLUME_RULES } from './rules-volumes.js';
import type { Rule } from './rule-kit.js';

export { VOLUME_SOURCES, type Rule, type ValueType } from './rule-kit.js';

export const RULES: readonly Rule[] = [...METADATA_RULES, ...SPEC_RULES, ...CONTAINER_RULES, ...VOLUME_RULES];
