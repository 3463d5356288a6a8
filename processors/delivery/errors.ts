import { StackLensError } from '../../common/errors';

/** The rules file's `receivers:` or `routes:` are invalid, or a variable they name is unset. */
export class DeliveryRulesError extends StackLensError {}

/** A delivery state record read back from its topic is not one this version wrote. */
export class DeliveryStateError extends StackLensError {}
