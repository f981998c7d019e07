export * from './ensure-topic.js';
export * from './event-message.js';
export * from './kafka-client.js';
export * from './kafka-event-consumer.js';
export * from './kafka-log-creator.js';
export * from './kafka-publisher.js';
