// The tasks waiting for a worker, by priority: higher first, first come first served within one.
// A map of one priority (the usual case) uses one deque and never compares priorities: a level is
// made for each priority present, and the list of levels is walked only when there are several.
import { Deque } from "../shared/ring.js";
import type { Task } from "./records.js";

interface Level {
  readonly priority: number;
  readonly tasks: Deque<Task>;
}

export class TaskQueue {
  /** Levels by priority, highest first; the default level (0) is always there. */
  #levels: Level[] = [{ priority: 0, tasks: new Deque<Task>(1024) }];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Queues a task behind those of its priority. */
  push(task: Task): void {
    this.#level(task.controls.priority).tasks.push(task);
    this.#size++;
  }

  /** Queues a task ahead of those of its priority (it was queued before and goes back). */
  unshift(task: Task): void {
    this.#level(task.controls.priority).tasks.unshift(task);
    this.#size++;
  }

  /** The next task to start, without taking it. */
  peek(): Task | undefined {
    const levels = this.#levels;
    if (levels.length === 1) return levels[0]!.tasks.peek();
    for (const level of levels) if (level.tasks.size > 0) return level.tasks.peek();
    return undefined;
  }

  /** Takes the next task to start. */
  shift(): Task | undefined {
    const levels = this.#levels;
    if (levels.length === 1) {
      const task = levels[0]!.tasks.shift();
      if (task) this.#size--;
      return task;
    }
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i]!;
      if (level.tasks.size === 0) continue;
      const task = level.tasks.shift()!;
      this.#size--;
      // An emptied level other than the default goes: a map of one priority that ran alone is back
      // on the single-deque path once the others have drained.
      if (level.tasks.size === 0 && level.priority !== 0) levels.splice(i, 1);
      return task;
    }
    return undefined;
  }

  #level(priority: number): Level {
    const levels = this.#levels;
    if (levels.length === 1 && levels[0]!.priority === priority) return levels[0]!;
    let i = 0;
    while (i < levels.length && levels[i]!.priority > priority) i++;
    if (i < levels.length && levels[i]!.priority === priority) return levels[i]!;
    const level = { priority, tasks: new Deque<Task>(64) };
    levels.splice(i, 0, level);
    return level;
  }
}
