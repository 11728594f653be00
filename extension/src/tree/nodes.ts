/** What each row of the tsnet views stands for; commands receive these as their argument. */
import type { ContainerModel, EndpointModel, NamespaceGroupModel, NetworkModel, PortModel, RemoteHostModel } from '../docker/model-types';

export type TreeNode =
  | { kind: 'message'; text: string; detail?: string }
  | { kind: 'network'; network: NetworkModel }
  | { kind: 'container'; container: ContainerModel; network?: NetworkModel; endpoint?: EndpointModel; parent?: TreeNode }
  | { kind: 'address'; family: 4 | 6; address: string; prefixLength?: number; gateway?: string; container: ContainerModel; network: NetworkModel }
  | { kind: 'port'; ports: PortModel[]; container: ContainerModel; network?: NetworkModel }
  | { kind: 'namespace'; group: NamespaceGroupModel; owner?: ContainerModel }
  /** Another Docker host of a multi-host network (from the driver's cluster status). */
  | { kind: 'remoteHost'; host: RemoteHostModel; network: NetworkModel };
