/** Errors the driver returns to dockerd as {"Err": message}; messages are written for the user. */

export class DriverError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DriverError';
  }
}

export class NotFoundError extends DriverError {
  constructor(what: 'network' | 'endpoint', id: string) {
    super(`no such ${what} ${id.slice(0, 12)} in tsnet (was it created while another driver served "tsnet", or removed already?)`);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends DriverError {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}
