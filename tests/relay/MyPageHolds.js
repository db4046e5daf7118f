// 予約中一覧 and 取消済予約一覧: placing a hold appends it, cancelling moves it between the lists.
import { graphql } from 'react-relay';

export const fragment = graphql`
  fragment MyPageHolds_patron on Patron
  @argumentDefinitions(count: { type: "Int", defaultValue: 20 }, cursor: { type: "String" })
  @refetchable(queryName: "MyPageHoldsPaginationQuery") {
    holds(first: $count, after: $cursor) @connection(key: "MyPageHolds_holds") {
      __id
      edges { node { ...MyPageHolds_hold } }
    }
  }
`;

export const cancelled = graphql`
  fragment MyPageHolds_cancelled on Patron {
    cancelledHolds(first: 10) @connection(key: "MyPageHolds_cancelledHolds") {
      __id
      edges { node { id title { id title } cancelReason cancelledOn } }
    }
  }
`;

export const hold = graphql`
  fragment MyPageHolds_hold on Hold {
    id
    status
    source
    queuePosition
    placedOn
    pickupDeadline
    cancellable
    title { id title }
  }
`;

export const placeHold = graphql`
  mutation MyPageHoldsPlaceMutation($input: PlaceHoldInput!, $holds: [ID!]!) {
    placeHold(input: $input) {
      errors { code field message }
      holdEdge @appendEdge(connections: $holds) { cursor node { ...MyPageHolds_hold } }
    }
  }
`;

export const cancelHold = graphql`
  mutation MyPageHoldsCancelMutation($input: CancelHoldInput!, $holds: [ID!]!, $cancelled: [ID!]!) {
    cancelHold(input: $input) {
      errors { code message }
      hold { id @deleteEdge(connections: $holds) status cancellable }
      holdEdge @prependEdge(connections: $cancelled) {
        cursor
        node { id title { id title } cancelReason cancelledOn }
      }
    }
  }
`;
