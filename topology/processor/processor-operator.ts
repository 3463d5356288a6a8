import { Observable, type OperatorFunction } from 'rxjs';
import type { AnyRecord, NodeRuntime, TopologyNode } from '../topology';
import type { ProcessorSupplier } from './processor';
import type { StreamRecord } from './record';

/**
 * Runs a processor-API processor as an RxJS operator inside a task: one processor instance per
 * subscription (i.e. per task pipeline), records forwarded synchronously downstream. An exception in
 * `process` becomes an error notification, which the task turns into a DLQ record.
 */
export function processorOperator<KIn, VIn, KOut, VOut>(
  node: TopologyNode,
  supplier: ProcessorSupplier<KIn, VIn, KOut, VOut>,
  runtime: NodeRuntime,
): OperatorFunction<AnyRecord, AnyRecord> {
  return (input) =>
    new Observable<AnyRecord>((subscriber) => {
      const context = runtime.processorContext<KOut, VOut>(node, (record) =>
        subscriber.next(record as AnyRecord),
      );
      const processor = supplier();
      processor.init?.(context);
      const subscription = input.subscribe({
        next: (record) => {
          try {
            processor.process(record as StreamRecord<KIn, VIn>);
          } catch (error) {
            subscriber.error(error);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        subscription.unsubscribe();
        processor.close?.();
      };
    });
}
