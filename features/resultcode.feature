@resultcode
Feature: ResultCode tells what a push did
  The official enumeration: 0 the push operation is successful; 100 already performed and the
  file is pushed; 200 already performed and the file is still being pushed to some file servers;
  300 the push failed and must be triggered again (ResultDescrip says why). There is one
  PushResult per data file, and DescribeDataPushResult reports the same state per edge node.
  A fast service may never answer 200: @core accepts 200 or 100 for a repeat, and pins 200
  only where the control plane holds a transfer back (@control).

  Background:
    Given a fresh application

  @core
  Scenario: a fresh push answers ResultCode 0
    When I push "app01" version "1.0"
    Then the request succeeds
    And the ResultCode of "app01" is 0

  @core
  Scenario: one result per data file, with Name and Version echoed
    When I push the data files:
      | name  | version | size |
      | app03 | 2.0     | 100  |
      | app01 | 1.0     | 200  |
      | app02 | 1.1     | 300  |
      | app01 | 1.1     | 400  |
    Then the request succeeds
    And there is one push result per data file
    And every ResultCode is 0

  @extended
  Scenario: one result per data file, in order, with Name and Version echoed
    ensmock answers in the order of Data; the documentation does not say so.

    When I push the data files:
      | name  | version | size |
      | app03 | 2.0     | 100  |
      | app01 | 1.0     | 200  |
      | app02 | 1.1     | 300  |
      | app01 | 1.1     | 400  |
    Then the request succeeds
    And there is one push result per data file, in order
    And every ResultCode is 0

  @core
  Scenario: pushing again answers 200 or 100
    When I push "app01" version "1.0"
    Then the ResultCode of "app01" is 0
    When I push "app01" version "1.0" again
    Then the ResultCode of "app01" is 200 or 100

  @extended @control
  Scenario: pushing again while file servers are still pushing answers 200
    Given the transfers of "huge" take hours
    When I push "huge" version "1.0"
    Then the ResultCode of "huge" is 0
    When I push "huge" version "1.0" again
    Then the ResultCode of "huge" is 200

  @core
  Scenario: pushing again once every file server holds the data answers 100
    When I push "app01" version "1.0"
    And "app01" version "1.0" has been pushed to every target file server
    And I push "app01" version "1.0" again
    Then the ResultCode of "app01" is 100

  @core
  Scenario: push results agree with DescribeDataPushResult
    When I push the data files:
      | name  | version | size  |
      | big   | 1.0     | 64 KB |
      | small | 1.0     | 1 KB  |
    Then every ResultCode is 0
    When "small" version "1.0" has been pushed to every target file server
    And "big" version "1.0" has been pushed to every target file server
    Then "small" version "1.0" is SUCCESS in every region it is described in
    And "big" version "1.0" is described in every known region
    When I push the data files:
      | name  | version | size  |
      | big   | 1.0     | 64 KB |
      | small | 1.0     | 1 KB  |
    Then the push results are, in any order:
      | name  | version | ResultCode |
      | big   | 1.0     | 100        |
      | small | 1.0     | 100        |

  @extended @control
  Scenario: push results agree with DescribeDataPushResult while a transfer is held back
    Given the transfers of "huge" take hours
    When I push the data files:
      | name  | version |
      | huge  | 1.0     |
      | small | 1.0     |
    Then every ResultCode is 0
    And "huge" version "1.0" is PUSHING in every region it is described in
    When "small" version "1.0" has been pushed to every target file server
    Then "huge" version "1.0" is PUSHING in every region it is described in
    When I push the data files:
      | name  | version |
      | huge  | 1.0     |
      | small | 1.0     |
    Then the push results are:
      | name  | version | ResultCode |
      | huge  | 1.0     | 200        |
      | small | 1.0     | 100        |

  @core
  Scenario: a new version of a pushed data file is a new push
    When I push "app01" version "1.0"
    And "app01" version "1.0" has been pushed to every target file server
    And I push the data files:
      | name  | version |
      | app01 | 1.0     |
      | app01 | 2.0     |
    Then the push results are, in any order:
      | name  | version | ResultCode |
      | app01 | 1.0     | 100        |
      | app01 | 2.0     | 0          |

  @extended @control
  Scenario: a data file whose transfer outlasts its own timeout fails and can be pushed again
    ensmock: the per-file "timeout" is in seconds, and a replica that would take longer fails.

    Given the transfers of "app01" take hours
    When I push the data files:
      | name  | version | timeout |
      | app01 | 1.0     | 1       |
    Then the ResultCode of "app01" is 0
    When "app01" version "1.0" has finished pushing
    Then "app01" version "1.0" is FAILED in every region it is described in
    When I push "app01" version "1.0" again
    Then the ResultCode of "app01" is 0

  @extended @control
  Scenario: a push that cannot start answers 300, and the retry 0
    Given the target's regions are known
    And the region "{region1}" is down for "app01"
    When I push "app01" version "1.0" with the push strategy:
      """
      {"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["{region1}"]}}
      """
    Then the ResultCode of "app01" is 300
    And the ResultDescrip of "app01" is not empty
    When the region fault is removed
    And I push "app01" version "1.0" again
    Then the ResultCode of "app01" is 0
    When "app01" version "1.0" has been pushed to every target file server
    Then "app01" version "1.0" is described in exactly the regions "{region1}"

  @extended @control
  Scenario: replicas that failed are pushed again by the next push
    ensmock: with a fault that corrupts every transfer of the file, its replicas end FAILED;
    once the fault is gone, the next push answers 0 and restarts them.

    Given the transfers of "app01" are corrupted
    When I push "app01" version "1.0"
    Then the ResultCode of "app01" is 0
    When "app01" version "1.0" has finished pushing
    Then "app01" version "1.0" is FAILED in every region it is described in
    When the fault is removed
    And I push "app01" version "1.0" again
    Then the ResultCode of "app01" is 0
    When "app01" version "1.0" has been pushed to every target file server
    Then "app01" version "1.0" is SUCCESS in every region it is described in
