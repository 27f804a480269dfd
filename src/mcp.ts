/**
 * `breakwater/mcp`: import a remote MCP server's tools into a registry, and
 * serve a registry as an MCP server. A separate entry point so that only
 * users of `@modelcontextprotocol/sdk` load it.
 */
export * from './adapters/mcp/index.js';
