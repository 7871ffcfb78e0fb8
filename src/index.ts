/** offthread: the host-side public API. Handlers import from 'offthread/worker'. */
export { TaskRuntime } from './runtime.js';
export { openInspector, type TaskInspector, type InspectorOptions } from './inspect/inspector.js';
export type { TaskHandle } from './streams/task-handle.js';
export { ofTaskType, ofType, type EventOfTaskType } from './streams/operators.js';
export type { RuntimeMetrics, GroupMetrics, LatencySummary } from './streams/metrics.js';
export type { ScheduleInfo, ScheduleOptions } from './scheduler/cron.js';
export type { DashboardOptions, Dashboard } from './dashboard/options.js';
export {
  OffthreadError,
  UnknownTaskTypeError,
  InvalidOptionError,
  TaskNotFoundError,
  AmbiguousIdError,
  InvalidTransitionError,
  NotCloneableError,
  PayloadTooLargeError,
  RuntimeClosedError,
  HandlersLoadError,
  TaskFailedError,
  TaskCancelledError,
  StoreVersionError,
  StoreUnavailableError,
  StoreNotFoundError,
  StoreCorruptError,
  StoreFullError,
  StoreIOError,
  StoreLockedError,
  DashboardListenError,
  OutputLostError,
  type StoreOwner,
} from './errors.js';
export { PRIORITIES, TASK_STATUSES } from './types.js';
export type {
  Untyped,
  TaskMap,
  TaskType,
  TaskPayload,
  TaskResult,
  AnyTask,
  AnyTaskEvent,
  SubmitArgs,
  ScheduleArgs,
  SubmitItemOf,
  OpenOptions,
} from './typed-tasks.js';
export type {
  Priority,
  TaskStatus,
  Task,
  TaskError,
  TaskEvent,
  TaskEventType,
  StoreHealth,
  TaskFilter,
  ListFilter,
  TaskStats,
  SubmitOptions,
  SubmitItem,
  RuntimeOptions,
  CloseOptions,
  CleanupOptions,
  Backoff,
  GroupLimits,
  RateLimit,
} from './types.js';
