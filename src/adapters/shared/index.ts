export { outcomeOf } from './outcome.js';
export { type FrameworkCall, runTool, type ToolRun } from './run.js';
export { selectTools, type ToolInfo, type ToolSelection } from './select.js';
export { toText, unserializable } from './serialize.js';
