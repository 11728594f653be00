/**
 * Styles of the picture itself. Kept as a string (not in topology.css) so an exported SVG carries
 * them, with the theme's colours resolved (see exportSvg).
 */
export const SVG_VARS = ['--tt-fg', '--tt-bg', '--tt-muted', '--tt-node', '--tt-border', '--tt-host', '--tt-accent', '--tt-match', '--tt-port', '--tt-running', '--tt-stopped', '--tt-focus', '--tt-error', '--tt-font'] as const;

export const SVG_CSS = `
svg.topology { font-family: var(--tt-font); fill: var(--tt-fg); background: var(--tt-bg); }
svg.topology text { fill: var(--tt-fg); white-space: pre; }
svg.topology text.title { font-size: 12px; font-weight: bold; }
svg.topology text.body { font-size: 11px; }
svg.topology text.small { font-size: 10px; fill: var(--tt-muted); }
svg.topology .host-frame { fill: var(--tt-host); stroke: var(--tt-border); stroke-dasharray: 6 4; }
svg.topology .host-title { font-size: 12px; font-weight: bold; fill: var(--tt-muted); }
svg.topology .part > rect { fill: var(--tt-node); stroke: var(--tt-border); stroke-width: 1; }
svg.topology .frame.bridge > rect { stroke-width: 2; }
svg.topology .frame.namespace > rect { fill: var(--tt-bg); }
svg.topology .frame.pod > rect { stroke-dasharray: 5 3; stroke-width: 1.5; }
svg.topology .container > rect { fill: var(--tt-node); stroke: none; }
svg.topology .container.member > rect { stroke: var(--tt-border); }
svg.topology .container.stopped text { fill: var(--tt-stopped); }
svg.topology .iface > rect, svg.topology .cport > rect { fill: transparent; stroke: none; }
svg.topology .cport text.body { fill: var(--tt-port); }
svg.topology .frame.hostport > rect { stroke: var(--tt-port); }
svg.topology .frame.vxlan > rect { stroke-width: 2; }
svg.topology .frame.vxlan.etcd-down > rect { stroke: var(--tt-error); }
svg.topology .frame.remotehost > rect { fill: var(--tt-host); stroke-dasharray: 6 3; stroke-width: 1.5; }
svg.topology .edge.tunnel .line { stroke-dasharray: 8 3; stroke-width: 2; }
svg.topology .edge .line { fill: none; stroke-width: 1.5; }
svg.topology .edge.attachment .line { stroke-dasharray: 2 4; opacity: 0.6; }
svg.topology .iface.inactive text { fill: var(--tt-stopped); }
svg.topology .frame.bridge.missing > rect { stroke-dasharray: 3 3; }
svg.topology .edge.publish .line { stroke: var(--tt-port); stroke-dasharray: 4 3; }
svg.topology .edge .hit { fill: none; stroke: transparent; stroke-width: 8; }
svg.topology .edge-label { font-size: 10px; fill: var(--tt-muted); }
svg.topology .arrow-head { fill: var(--tt-port); }
svg.topology.searching .node, svg.topology.searching .edge { opacity: 0.25; }
svg.topology.searching .node.hit-node, svg.topology.searching .edge.hit-edge { opacity: 1; }
svg.topology .part.match > rect { fill: var(--tt-match); stroke: var(--tt-accent); stroke-width: 2; }
svg.topology .part.current > rect { stroke-width: 3; }
svg.topology .part.selected > rect, svg.topology .edge.selected .line { stroke: var(--tt-accent); stroke-width: 2.5; }
svg.topology .part[data-ref-kind]:hover > rect { stroke: var(--tt-accent); }
svg.topology .edge:hover .line { stroke-width: 3; }
svg.topology [tabindex] { outline: none; }
svg.topology text.rate { font-size: 10px; fill: var(--tt-running); font-weight: bold; }
svg.topology .edge.traffic .line { opacity: 1; }
svg.topology .drops > rect, svg.topology .edge.drops .line { stroke: var(--tt-error); }
svg.topology .drops text.rate { fill: var(--tt-error); }
svg.topology .part:focus > rect { stroke: var(--tt-focus); stroke-width: 3; stroke-dasharray: none; }
svg.topology .edge:focus .line { stroke: var(--tt-focus); stroke-width: 4; }
svg.topology.hc .part > rect { stroke: var(--tt-border); stroke-width: 1.5; }
svg.topology.hc .edge .line, svg.topology.hc .bridge-bar { stroke: var(--tt-fg); fill: var(--tt-fg); }
svg.topology.hc .edge .line { fill: none; opacity: 1; }
svg.topology.hc text, svg.topology.hc text.small, svg.topology.hc .edge-label { fill: var(--tt-fg); }
svg.topology.hc .part:focus > rect, svg.topology.hc .edge:focus .line { stroke: var(--tt-focus); stroke-width: 3; stroke-dasharray: 4 2; }
`;
