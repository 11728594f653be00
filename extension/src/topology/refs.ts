/**
 * What the picture points at (network / container / endpoint ids) → the argument the tree's
 * commands take (a TreeNode), so a context action in the picture runs exactly what the tree runs.
 */
import type { NetworkGraph } from '../docker/model-types';
import type { TreeNode } from '../tree/nodes';
import type { ItemRef } from './layout-input';

export function nodeForRef(graph: NetworkGraph, ref: ItemRef): TreeNode | undefined {
  switch (ref.kind) {
    case 'network': {
      const network = graph.networks.find((n) => n.id === ref.id);
      return network && { kind: 'network', network };
    }
    case 'container': {
      const container = graph.containers.find((c) => c.id === ref.id);
      return container && { kind: 'container', container };
    }
    case 'endpoint': {
      const endpoint = graph.endpoints.find((e) => e.id === ref.id);
      const container = endpoint && graph.containers.find((c) => c.id === endpoint.containerId);
      const network = endpoint && graph.networks.find((n) => n.id === endpoint.networkId);
      return container && network && { kind: 'container', container, network, endpoint };
    }
  }
}
