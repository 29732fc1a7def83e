/**
 * A phase's own hand-over from `prepare` to `run` (a rendered manifest, the agent's plan), keyed by
 * the path the runner hands the phase and by the workflow data of the run, so one phase definition
 * used at several paths or in several runs never sees another's value. Typed by the slot, with no
 * shared untyped map between phases.
 */
export class ScratchSlot<T> {
  private readonly byRun = new WeakMap<object, Map<string, T>>();

  set(run: object, path: string, value: T): void {
    let values = this.byRun.get(run);
    if (!values) this.byRun.set(run, (values = new Map<string, T>()));
    values.set(path, value);
  }

  get(run: object, path: string): T | undefined {
    return this.byRun.get(run)?.get(path);
  }
}
